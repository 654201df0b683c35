import { ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldError, PlatformError } from '../errors/tollgate-error';

/** Flattens class-validator's tree into `errors[]` with dotted field paths (`usage.video_seconds`). */
export function toFieldErrors(errors: ValidationError[], prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const error of errors) {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    for (const message of Object.values(error.constraints ?? {})) {
      out.push({ field, message: message.startsWith(error.property + ' ') ? message : `${error.property} ${message}`.trim() });
    }
    if (error.children?.length) out.push(...toFieldErrors(error.children, field));
  }
  return out;
}

/** The one validation pipe every entry point uses (main.ts and the test harness alike). */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => PlatformError.validation(toFieldErrors(errors)),
  });
}
