import { Counter, Gauge, Registry } from 'prom-client';
import type { LiveState, LiveStatus } from '../packager/live.ts';
import { serveMetrics, type MetricsListener } from '../server/node/metrics.ts';

// `hls-gate live --metrics-port N`: the stream's ingest as Prometheus metrics, on loopback (the same listener as the
// gateway's, METRICS_TOKEN honoured). One process is one stream, so no label names it: Prometheus's target does.

const STATES: readonly LiveState[] = ['waiting', 'live', 'reconnecting', 'ended'];

export interface LiveMetrics {
  update(status: LiveStatus): void;
  url: string;
  close(): Promise<void>;
}

export async function serveLiveMetrics(port: number, token: string | undefined): Promise<LiveMetrics> {
  const registry = new Registry();
  let status: LiveStatus = { state: 'waiting', kbps: 0, frames: 0, segments: 0 };
  let reconnections = 0;
  new Gauge({
    name: 'hlsgate_live_state',
    help: 'The stream: 1 for its state now (waiting, live, reconnecting, ended), 0 for the others.',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      for (const s of STATES) this.set({ state: s }, s === status.state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'hlsgate_live_output_bits_per_second',
    help: "The ladder's output bit rate, as ffmpeg measures it.",
    registers: [registry],
    collect() {
      this.set(status.kbps * 1000);
    },
  });
  const absolute = (name: string, help: string, value: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(value());
      },
    });
  absolute('hlsgate_live_frames_total', 'Frames encoded since the stream started.', () => status.frames);
  absolute('hlsgate_live_segments_written_total', 'Segments written (first rendition).', () => status.segments);
  absolute(
    'hlsgate_live_reconnections_total',
    'Times the encoder dropped and the stream waited for it.',
    () => reconnections,
  );
  const listener: MetricsListener = await serveMetrics(registry, {
    host: '127.0.0.1',
    port,
    ...(token ? { token } : {}),
  });
  return {
    update(next) {
      if (next.state === 'reconnecting' && status.state !== 'reconnecting') reconnections++;
      status = next;
    },
    url: listener.url,
    close: () => listener.close(),
  };
}
