export * from './fake-vendor-server';
export * from './fake-flexprice';
export * from './fake-metronome';
