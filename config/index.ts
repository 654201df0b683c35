export * from './src/namespaces';
export * from './src/load-config';
export * from './src/config.module';
