export * from './tollgate-error';
export * from './problem';
export * from './field-path';
