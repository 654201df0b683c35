export * from './tollgate-error';
export * from './problem';
