// The OTLP exporter, loaded when the first batch of spans is exported rather than at start-up:
// its modules (exporter, OTLP transformer, serialisers, HTTP agent) are ~4 MB of RSS that an
// idle process, or one whose sampler has not yet kept a span, does not need. The batch span
// processor calls export() at most once at a time, so loading happens once.
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type { OtlpProtocol } from './settings.js';

export class LazyOtlpExporter implements SpanExporter {
  readonly #protocol: OtlpProtocol;
  #exporter: Promise<SpanExporter> | undefined;

  constructor(protocol: OtlpProtocol) {
    this.#protocol = protocol;
  }

  #load(): Promise<SpanExporter> {
    // Both exporters read OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS and _TIMEOUT themselves.
    this.#exporter ??= (
      this.#protocol === 'http/json'
        ? import('@opentelemetry/exporter-trace-otlp-http')
        : import('@opentelemetry/exporter-trace-otlp-proto')
    ).then((module) => new module.OTLPTraceExporter());
    return this.#exporter;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.#load().then(
      (exporter) => exporter.export(spans, resultCallback),
      (error: unknown) =>
        resultCallback({
          code: 1, // ExportResultCode.FAILED
          error: error instanceof Error ? error : new Error(String(error)),
        }),
    );
  }

  async shutdown(): Promise<void> {
    // Nothing was ever exported: nothing to load just to shut it down.
    if (this.#exporter === undefined) return;
    await (await this.#exporter).shutdown();
  }

  async forceFlush(): Promise<void> {
    if (this.#exporter === undefined) return;
    await (await this.#exporter).forceFlush?.();
  }
}
