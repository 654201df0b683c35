import { TollgateError } from './tollgate-error';

/** RFC 9457 problem details, with Tollgate's stable `code` member. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  [extension: string]: unknown;
}

export type ErrorStatusMap = Readonly<Record<string, number>>;

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problemType(code: string): string {
  return `urn:tollgate:problem:${code}`;
}

export function toProblem(error: TollgateError, statusMap: ErrorStatusMap, instance?: string): Problem {
  const status = statusMap[error.code] ?? 500;
  return {
    ...error.extensions,
    type: problemType(error.code),
    title: TITLES[status] ?? 'Error',
    status,
    detail: error.message,
    code: error.code,
    ...(instance ? { instance } : {}),
  };
}
