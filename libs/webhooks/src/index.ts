export * from './webhooks.module';
export * from './domain/webhooks.error';
