/**
 * Observability: a supervisor's traces and metrics out through OpenTelemetry
 * (`@effect/opentelemetry`), with a Prometheus scrape endpoint for the metrics.
 *
 * - A named supervisor (`name: "thumbnails"`) makes a span `thumbnails.task` per task, a
 *   child of the caller's span (here `batch`), with the worker and the attempts as attributes.
 * - Every `supervisor_*` metric (task counters, queued/running gauges, duration and queue-wait
 *   histograms, tagged `supervisor="thumbnails"`) is read by the Prometheus exporter and served
 *   on `/metrics`.
 *
 * The run is bounded: one batch, one scrape of the endpoint, then everything shuts down. In a
 * service, keep the endpoint up and send spans to a collector (an OTLP exporter) instead of
 * the in-memory one used here to print them.
 *
 *   npx tsx examples/observability.ts
 */
import { NodeSdk } from "@effect/opentelemetry"
import { SpanStatusCode } from "@opentelemetry/api"
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus"
import type { MetricReader } from "@opentelemetry/sdk-metrics"
import type { SpanExporter } from "@opentelemetry/sdk-trace-base"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Console, Effect, Schedule } from "effect"
import { Supervisor } from "effect-supervisor"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { pathToFileURL } from "node:url"

/** Spans go to `spans` as they end; `metrics` reads the Effect metrics when it collects. */
export const telemetry = (spans: SpanExporter, metrics: MetricReader | ReadonlyArray<MetricReader>) =>
  NodeSdk.layer(() => ({
    resource: { serviceName: "thumbnails-service" },
    spanProcessor: new SimpleSpanProcessor(spans),
    metricReader: metrics
  }))

/**
 * One batch under the caller's span `batch`: every 5th image fails its first attempt and is
 * retried, image 13 fails for good.
 */
export const batch = (images: number) =>
  Effect.suspend(() => {
    const tries = new Map<number, number>()
    return Supervisor.run(Array.from({ length: images }, (_, i) => i + 1), {
      workers: 3,
      name: "thumbnails",
      handler: (image: number) =>
        Effect.gen(function*() {
          yield* Effect.sleep("2 millis")
          const attempt = (tries.get(image) ?? 0) + 1
          tries.set(image, attempt)
          if (image === 13 || (image % 5 === 0 && attempt === 1)) return yield* Effect.fail(`image ${image} unreadable`)
          return `${image}.thumb.png`
        }),
      retry: Schedule.recurs(1)
    })
  }).pipe(Effect.withSpan("batch", { attributes: { images } }))

/** Serves the Prometheus text format on an ephemeral port for as long as the scope lives. */
export const scrapeEndpoint = (exporter: PrometheusExporter) =>
  Effect.acquireRelease(
    Effect.async<Http.Server>((resume) => {
      const server = Http.createServer((request, response) => exporter.getMetricsRequestHandler(request, response))
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`))

const main = Effect.gen(function*() {
  const spans = new InMemorySpanExporter()
  const prometheus = new PrometheusExporter({ preventServerStart: true })
  const program = Effect.gen(function*() {
    const summary = yield* batch(20)
    yield* Console.log(
      `batch: ${summary.stats.succeeded} succeeded, ${summary.stats.failed} failed, ${summary.stats.retries} retries`
    )

    const url = yield* scrapeEndpoint(prometheus)
    const text = yield* Effect.promise(() => fetch(url).then((response) => response.text()))
    yield* Console.log(`\nGET ${url} (the supervisor_* samples):`)
    for (const line of text.split("\n")) {
      if (line.startsWith("supervisor_") && !line.includes("_bucket{")) yield* Console.log(`  ${line}`)
    }

    const ended = spans.getFinishedSpans()
    const parent = ended.find((span) => span.name === "batch")!
    const tasks = ended.filter((span) => span.name === "thumbnails.task")
    const children = tasks.filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId)
    yield* Console.log(`\nspans: "batch" ${parent.spanContext().spanId} with ${children.length} of ${tasks.length}`)
    yield* Console.log(`"thumbnails.task" spans as its children, e.g.`)
    const failed = children.filter((span) => span.status.code === SpanStatusCode.ERROR)
    for (const span of [...children.slice(0, 2), ...failed]) {
      const { attempts, "supervisor.worker": worker } = span.attributes
      const status = span.status.code === SpanStatusCode.ERROR ? `error: ${span.status.message}` : "ok"
      yield* Console.log(`  ${span.name} worker ${worker} attempts ${attempts} ${status}`)
    }
  }).pipe(Effect.scoped)
  yield* Effect.provide(program, telemetry(spans, prometheus))
})

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  Effect.runPromise(main).catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
}
