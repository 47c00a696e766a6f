// A local OTLP/HTTP trace receiver: accepts `POST /v1/traces` in http/json and http/protobuf,
// like the collector's otlphttp receiver, and keeps the spans it got in one flat list.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

// The part of opentelemetry-proto (collector/trace/v1, trace/v1, common/v1, resource/v1) the
// tests read, with the upstream field numbers.
const TRACE_PROTO = `
syntax = "proto3";
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message InstrumentationScope { string name = 1; string version = 2; }
message Status { string message = 2; int32 code = 3; }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  Status status = 15;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
`;
const ExportTraceServiceRequest = protobuf
  .parse(TRACE_PROTO)
  .root.lookupType('ExportTraceServiceRequest');

/** OTLP span kinds (trace/v1 Span.SpanKind). */
export const SpanKind = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;
/** OTLP status codes (trace/v1 Status.StatusCode). */
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  kind: number;
  statusCode: number;
  scope: string;
  serviceName: string;
  resource: Record<string, unknown>;
  attributes: Record<string, unknown>;
}

export interface OtlpReceiver {
  /** e.g. `http://127.0.0.1:41234`, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string;
  readonly spans: readonly ReceivedSpan[];
  /** Content types of the export requests received so far. */
  readonly contentTypes: readonly string[];
  /** Resolves with the spans once `predicate` holds, rejects after `timeoutMs`. */
  waitFor(
    predicate: (spans: readonly ReceivedSpan[]) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

type JsonAnyValue = Record<string, unknown>;
interface JsonKeyValue {
  key: string;
  value?: JsonAnyValue;
}

/** `value` when it is a string, else `fallback` (attribute values arrive untyped). */
function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

function anyValue(value: JsonAnyValue | undefined): unknown {
  if (value === undefined) return undefined;
  if ('stringValue' in value) return value.stringValue;
  if ('boolValue' in value) return value.boolValue;
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return value.doubleValue;
  if ('arrayValue' in value) {
    const values = (value.arrayValue as { values?: JsonAnyValue[] }).values ?? [];
    return values.map((item) => anyValue(item));
  }
  if ('kvlistValue' in value)
    return attributeRecord((value.kvlistValue as { values?: JsonKeyValue[] }).values);
  return undefined;
}

function attributeRecord(list: JsonKeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, anyValue(value)]));
}

interface JsonExportRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: JsonKeyValue[] };
    scopeSpans?: Array<{
      scope?: { name?: string };
      spans?: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind?: number;
        status?: { code?: number };
        attributes?: JsonKeyValue[];
      }>;
    }>;
  }>;
}

/** Flattens an ExportTraceServiceRequest in its OTLP/JSON shape (ids as hex strings). */
function flatten(request: JsonExportRequest): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of request.resourceSpans ?? []) {
    const resource = attributeRecord(resourceSpans.resource?.attributes);
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        spans.push({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId ?? '',
          name: span.name,
          kind: span.kind ?? 0,
          statusCode: span.status?.code ?? 0,
          scope: scopeSpans.scope?.name ?? '',
          serviceName: stringOr(resource['service.name'], ''),
          resource,
          attributes: attributeRecord(span.attributes),
        });
      }
    }
  }
  return spans;
}

function decodeProtobuf(body: Buffer): JsonExportRequest {
  const message = ExportTraceServiceRequest.decode(body);
  // bytes → hex strings, the OTLP/JSON convention for trace and span ids; enums as numbers.
  const object = ExportTraceServiceRequest.toObject(message, {
    longs: String,
    enums: Number,
    defaults: false,
  });
  const hexIds = (value: unknown): unknown => {
    if (Buffer.isBuffer(value) || value instanceof Uint8Array)
      return Buffer.from(value).toString('hex');
    if (Array.isArray(value)) return value.map(hexIds);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, hexIds(item)]));
    }
    return value;
  };
  return hexIds(object) as JsonExportRequest;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startOtlpReceiver(port = 0): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const waiters = new Set<() => void>();

  const server: Server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      if (request.method !== 'POST' || request.url !== '/v1/traces') {
        response.writeHead(404).end();
        return;
      }
      const contentType = (request.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
      contentTypes.push(contentType);
      try {
        if (contentType === 'application/json') {
          spans.push(...flatten(JSON.parse(body.toString('utf8')) as JsonExportRequest));
        } else if (contentType === 'application/x-protobuf') {
          spans.push(...flatten(decodeProtobuf(body)));
        } else {
          response.writeHead(415).end();
          return;
        }
      } catch {
        response.writeHead(400).end();
        return;
      }
      // An empty ExportTraceServiceResponse: `{}` in JSON, zero bytes in protobuf.
      if (contentType === 'application/json') {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else {
        response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      }
      for (const wake of waiters) wake();
    })();
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const { port: boundPort } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${boundPort}`,
    spans,
    contentTypes,
    waitFor(predicate, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          if (!predicate(spans)) return false;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve([...spans]);
          return true;
        };
        const wake = (): void => void check();
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(
            new Error(
              `OTLP receiver: condition not met within ${timeoutMs} ms; got ${spans.length} spans`,
            ),
          );
        }, timeoutMs);
        waiters.add(wake);
        check();
      });
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
