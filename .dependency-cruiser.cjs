/**
 * Dependency rules of the house (issue 10, docs/ARCHITECTURE.md): the hexagon's domain stays
 * pure, modules meet only at their public entry, nothing imports in a circle.
 * `npm run lint:deps` checks them; a violation fails `npm run lint` and so `npm test`.
 */
const PRODUCTION = '^(apps|libs|config)/';
const NOT_PRODUCTION = ['\\.(int-)?spec(-harness)?\\.ts$', '^libs/testing/', '^test/', '^bench/'];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make load order and ownership unclear.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'Files under */domain/ are plain TypeScript: no framework, ORM, Redis, HTTP server or vendor SDK.',
      from: { path: '^libs/[^/]+/src/domain/' },
      to: { path: '(^|/)node_modules/(@nestjs|@mikro-orm|ioredis|fastify|@fastify|@flexprice|@metronome|pg|@electric-sql)(/|$)' },
    },
    {
      name: 'domain-imports-only-errors-of-platform',
      severity: 'error',
      comment: 'A domain file may use the platform only through @tollgate/platform/errors (the index loads Nest).',
      from: { path: '^libs/[^/]+/src/domain/' },
      to: { path: '^libs/platform/src/', pathNot: '^libs/platform/src/errors/' },
    },
    {
      name: 'modules-meet-at-their-index',
      severity: 'error',
      comment:
        'Another module is imported only through its index.ts (or a named public entry: @tollgate/platform/errors), so use cases never reach into the adapters or use cases of another module.',
      from: { path: '^(apps|libs|config)/([^/]+)/', pathNot: NOT_PRODUCTION },
      to: {
        path: '^(libs/[^/]+/src|config)/',
        pathNot: ['^$1/$2/', '^libs/[^/]+/src/index\\.ts$', '^libs/platform/src/errors/index\\.ts$', '^config/index\\.ts$'],
      },
    },
    {
      name: 'production-never-imports-tests',
      severity: 'error',
      comment: 'The service does not load test harnesses, fakes or benchmarks.',
      from: { path: PRODUCTION, pathNot: NOT_PRODUCTION },
      to: { path: ['^libs/testing/', '^test/', '^bench/', '\\.(int-)?spec\\.ts$'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^dist/', '^\\.data/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
