import { Migration20261128000000Foundation } from './Migration20261128000000Foundation';

/** Every migration, in order. Listed explicitly so the built and the ts-jest runs see the same set. */
export const MIGRATIONS = [{ name: 'Migration20261128000000Foundation', class: Migration20261128000000Foundation }];
