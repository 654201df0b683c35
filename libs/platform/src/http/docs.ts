import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
};

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tollgate API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/docs/openapi.json', dom_id: '#ui', presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout' });</script>
</body></html>`;

/**
 * `GET /docs` (UI) and `GET /docs/openapi.json`. The UI's three files are served from
 * swagger-ui-dist directly: @fastify/static pulls in ESM-only packages that Jest cannot load,
 * and the tests must boot exactly what production serves.
 */
export function setupDocs(app: NestFastifyApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Tollgate API')
      .setDescription('Admission control and billing bridge. Errors are RFC 9457 problem+json with a stable `code`.')
      .setVersion('1')
      .addBearerAuth()
      .addGlobalParameters({ name: 'X-Environment', in: 'header', required: false, schema: { type: 'string', enum: ['live', 'test'] } })
      .build(),
  );
  SwaggerModule.setup('docs', app, document, {
    swaggerUiEnabled: false,
    jsonDocumentUrl: 'docs/openapi.json',
    yamlDocumentUrl: 'docs/openapi.yaml',
  });

  // swagger-ui-dist ships CommonJS without types: required, not imported.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dist = require('swagger-ui-dist').getAbsoluteFSPath() as string;
  const files = new Map(Object.entries(ASSETS).map(([name, type]) => [name, { type, body: readFileSync(join(dist, name)) }]));
  const fastify = app.getHttpAdapter().getInstance();
  fastify.get('/docs', (_, reply) => void reply.type('text/html; charset=utf-8').send(PAGE));
  fastify.get<{ Params: { file: string } }>('/docs/:file', (request, reply) => {
    const file = files.get(request.params.file);
    if (!file)
      return void reply.status(404).type('application/problem+json').send({
        type: 'urn:tollgate:problem:route_not_found',
        title: 'Not Found',
        status: 404,
        detail: 'No such file.',
        code: 'route_not_found',
      });
    reply.header('Cache-Control', 'public, max-age=86400').type(file.type).send(file.body);
  });
}
