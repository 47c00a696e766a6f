// The stable HTTP semantic-convention attribute names this package sets, as literals: importing
// @opentelemetry/semantic-conventions for them costs every process ~1.4 MB of RSS (its index
// loads every stable constant). The names are pinned by test/trace-across-services.test.ts.
export const HTTP = {
  requestMethod: 'http.request.method',
  responseStatusCode: 'http.response.status_code',
  route: 'http.route',
  urlPath: 'url.path',
  urlScheme: 'url.scheme',
  serverAddress: 'server.address',
  clientAddress: 'client.address',
  protocolVersion: 'network.protocol.version',
  userAgent: 'user_agent.original',
  errorType: 'error.type',
} as const;
