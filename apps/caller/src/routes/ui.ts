// GET /: the browser UI, static files from the package's public/ folder. Resolved from this file
// (src/routes or dist/routes) so it works from the sources, the build and a `pnpm deploy` folder.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

export const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));

export default async function uiRoutes(fastify: FastifyInstance): Promise<void> {
  // What the page needs to know of the caller's configuration (relative URL: ui-config.json).
  const uiConfig = {
    traceUrlTemplate:
      fastify.config.TRACE_URL_TEMPLATE === '' ? null : fastify.config.TRACE_URL_TEMPLATE,
  };
  fastify.get(
    '/ui-config.json',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            properties: { traceUrlTemplate: { type: ['string', 'null'] } },
            required: ['traceUrlTemplate'],
          },
        },
      },
    },
    async (_request, reply) => reply.header('cache-control', 'no-cache').send(uiConfig),
  );

  if (!existsSync(PUBLIC_DIR)) {
    fastify.log.warn({ dir: PUBLIC_DIR }, 'UI folder missing: GET / will answer 404');
    return;
  }
  await fastify.register(fastifyStatic, {
    root: PUBLIC_DIR,
    // One route per file found at start-up (the folder is immutable in the image), so unknown
    // paths reach the problem+json 404 and the metrics' route label stays bounded.
    wildcard: false,
    index: ['index.html'],
  });
}
