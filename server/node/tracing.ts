import { SpanKind, SpanStatusCode, context, type Span, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  TracerProvider,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { REASON_HEADER } from '../core/headers.ts';
import type { GatewayEnv } from '../app/context.ts';
import { GRANT_ROUTES } from '../app/layout.ts';
import type { Instrument, Operation } from '../app/instrument.ts';
import { loggableError } from '../app/log.ts';

// OpenTelemetry traces for the Node gateway, off unless the standard variables ask for them
// (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/): OTEL_TRACES_EXPORTER=otlp, or
// an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); OTEL_SDK_DISABLED=true
// turns them off. The OTLP/HTTP exporter reads its endpoint, headers and timeout from the same variables.
// One server span per request (named by its route pattern) with the grant or the refusal as attributes, and a child
// span per signature, verification, session-store and storage call. Attributes never hold a query string, a cookie,
// a token or a signature: the path, the route, the status, the refusal reason, how the grant came.

export interface Tracing {
  /** Mounted first in the app: the request's span, active while the request is handled. */
  middleware: MiddlewareHandler<GatewayEnv>;
  instrument: Instrument;
  /** Sends what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** Traces to `exporter` (tests: an in-memory one), or to OTLP/HTTP as the environment says. */
export async function createTracing(exporter?: SpanExporter): Promise<Tracing> {
  let processor: SpanProcessor;
  if (exporter) processor = new SimpleSpanProcessor({ exporter });
  else {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    processor = new BatchSpanProcessor({ exporter: new OTLPTraceExporter() });
  }
  const provider = new TracerProvider({ spanProcessors: [processor] });
  // The request's span stays current across awaits (AsyncLocalStorage), so the calls it makes become its children.
  // Registered only when no other is (a host app's own wins, and is never disabled by this gateway's shutdown).
  const manager = new AsyncLocalStorageContextManager().enable();
  const ours = context.setGlobalContextManager(manager);
  if (!ours) manager.disable();
  const tracer: Tracer = provider.getTracer('hls-gate');

  const ended = (span: Span, err?: unknown) => {
    if (err !== undefined) {
      const { name, message } = loggableError(err);
      span.setStatus({ code: SpanStatusCode.ERROR, message: `${name}: ${message}` });
    }
    span.end();
  };

  return {
    middleware: async (c, next) =>
      tracer.startActiveSpan(
        `${c.req.method}`,
        { kind: SpanKind.SERVER, attributes: { 'http.request.method': c.req.method, 'url.path': c.req.path } },
        async (span) => {
          try {
            await next();
          } catch (err) {
            ended(span, err);
            throw err;
          }
          const route = routePath(c);
          if (route && route !== '*' && route !== '/*') {
            span.updateName(`${c.req.method} ${route}`);
            span.setAttribute('http.route', route);
          }
          span.setAttribute('http.response.status_code', c.res.status);
          const reason = c.res.headers.get(REASON_HEADER);
          if (reason) span.setAttribute('hls_gate.refusal', reason);
          // A media request's grant (cookies or a signed URL), or the grant a POST issued.
          const grant = c.get('grantSource');
          if (grant) span.setAttribute('hls_gate.grant', grant);
          const issued = route ? GRANT_ROUTES.get(route) : undefined;
          if (issued && c.req.method === 'POST' && c.res.status < 300) span.setAttribute('hls_gate.issued', issued);
          if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          ended(span);
        },
      ),
    instrument: {
      run: (op, name, fn) =>
        tracer.startActiveSpan(`${op} ${name}`, { attributes: { 'hls_gate.operation': op } }, async (span) => {
          try {
            const value = await fn();
            ended(span);
            return value;
          } catch (err) {
            ended(span, err);
            throw err;
          }
        }),
    },
    shutdown: async () => {
      await provider.shutdown();
      if (ours) context.disable();
    },
  };
}

/** Both: each operation timed for the metrics inside its span. */
export function bothInstruments(outer: Instrument, inner: Instrument): Instrument {
  const has = (i: Instrument, op: Operation) => i.covers?.(op) ?? true;
  return {
    covers: (op) => has(outer, op) || has(inner, op),
    run: (op, name, fn) => {
      const measured = has(inner, op) ? () => inner.run(op, name, fn) : fn;
      return has(outer, op) ? outer.run(op, name, measured) : measured();
    },
  };
}
