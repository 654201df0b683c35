export * from './create-test-app';
export * from './test-client';
export * from './test-env';
export * from './probe.module';
export * from './wait';
export * from './manual-clock';
export * from './redis-keys';
export * from './tcp-proxy';
