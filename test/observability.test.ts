// examples/observability.ts with in-memory exporters: the span per task hangs under the
// caller's span, and every supervisor_* metric Effect records reaches OpenTelemetry and the
// Prometheus endpoint. Real OpenTelemetry SDK, real time (bounded), hence it.live.
import { describe, expect, it } from "@effect/vitest"
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus"
import { MetricReader } from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base"
import { Effect, Metric, MetricState, Schedule } from "effect"
import { type Errors, Supervisor } from "effect-supervisor"
import { batch, scrapeEndpoint, telemetry } from "../examples/observability.js"

/** A reader that only collects when asked (the test's "scrape"). */
class PullReader extends MetricReader {
  protected override onShutdown = () => Promise.resolve()
  protected override onForceFlush = () => Promise.resolve()
}

const otelNames = (reader: MetricReader) =>
  Effect.promise(() => reader.collect()).pipe(
    Effect.map(({ resourceMetrics }) =>
      resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics.map((metric) => metric.descriptor.name))
    )
  )

/** What Effect itself recorded for the supervisor named `name`. */
const effectNames = (name: string) =>
  Effect.map(Metric.snapshot, (pairs) =>
    pairs
      .filter((pair) => pair.metricKey.tags.some((tag) => tag.key === "supervisor" && tag.value === name))
      .map((pair) => pair.metricKey.name))

const counters = [
  "supervisor_tasks_submitted",
  "supervisor_tasks_succeeded",
  "supervisor_tasks_failed",
  "supervisor_tasks_defects",
  "supervisor_tasks_interrupted",
  "supervisor_tasks_dropped",
  "supervisor_tasks_timeouts",
  "supervisor_tasks_retries",
  "supervisor_tasks_restarts"
]

const every = [
  ...counters,
  "supervisor_tasks_queued",
  "supervisor_tasks_running",
  "supervisor_task_duration_ms",
  "supervisor_task_queued_ms"
]

// one task of each kind, so that every counter moves
const everyKind = Effect.gen(function*() {
  let acquires = 0
  let flaky = 0
  const sup = yield* Supervisor.make({
    workers: 1,
    name: "every-kind",
    capacity: 1,
    strategy: "dropping",
    timeout: "100 millis",
    retry: Schedule.recurs(1).pipe(Schedule.whileInput((e: string | Errors.TaskTimeout) => e === "flaky")),
    resource: Effect.suspend(() => (++acquires === 1 ? Effect.fail("first acquire fails") : Effect.void)),
    handler: (task: string) => {
      switch (task) {
        case "die":
          return Effect.die("boom")
        case "flaky":
          return ++flaky === 1 ? Effect.fail("flaky") : Effect.succeed(task)
        case "hang":
          return Effect.never
        default:
          return Effect.succeed(task)
      }
    }
  })
  // a defect, a success after a retry, a timeout: one at a time, as the queue holds one task
  yield* Effect.forEach(["die", "flaky", "hang"], (task) => Effect.zipRight(sup.submit(task), sup.awaitIdle))
  yield* sup.submit("hang")
  yield* Effect.repeat(sup.stats, { until: (stats) => stats.running === 1 }).pipe(Effect.timeout("5 seconds"))
  yield* sup.submitAll(["queued", "dropped"])
  const summary = yield* sup.shutdownNow // the running "hang" and "queued" are interrupted
  return summary.stats
})

describe("examples/observability.ts", () => {
  it.live("a span per task under the caller's span; the task spans carry worker and attempts", () =>
    Effect.gen(function*() {
      const spans = new InMemorySpanExporter()
      // read the spans before the layer shuts the SDK down (the exporter forgets them then)
      const { ended, summary } = yield* Effect.map(batch(20), (summary) => ({
        summary,
        ended: spans.getFinishedSpans()
      })).pipe(Effect.provide(telemetry(spans, new PullReader())))
      expect(summary.stats).toMatchObject({ submitted: 20, succeeded: 19, failed: 1, retries: 5 })
      const parent = ended.filter((span) => span.name === "batch")
      expect(parent).toHaveLength(1)
      const tasks = ended.filter((span) => span.name === "thumbnails.task")
      expect(tasks).toHaveLength(20)
      for (const span of tasks) {
        expect(span.parentSpanContext?.spanId).toBe(parent[0]!.spanContext().spanId)
        expect(span.spanContext().traceId).toBe(parent[0]!.spanContext().traceId)
        expect(span.attributes["supervisor.worker"]).toBeTypeOf("number")
      }
      // images 5, 10, 15, 20 need a second attempt, 13 fails both
      const retried = tasks.filter((span) => span.attributes.attempts === 2)
      expect(retried).toHaveLength(5)
      expect(tasks.filter((span) => span.status.code === 2)).toHaveLength(1)
    }))

  it.live("every supervisor_* metric reaches OpenTelemetry and the Prometheus scrape endpoint", () =>
    Effect.gen(function*() {
      const reader = new PullReader()
      const prometheus = new PrometheusExporter({ preventServerStart: true })
      const { names, stats, text } = yield* Effect.gen(function*() {
        const stats = yield* everyKind
        const url = yield* scrapeEndpoint(prometheus)
        const text = yield* Effect.promise(() => fetch(url).then((response) => response.text()))
        return { stats, text, names: yield* otelNames(reader) }
      }).pipe(Effect.scoped, Effect.provide(telemetry(new InMemorySpanExporter(), [reader, prometheus])))
      expect(stats).toMatchObject({
        submitted: 6,
        succeeded: 1,
        failed: 1,
        defects: 1,
        interrupted: 2,
        dropped: 1,
        timeouts: 1,
        retries: 1,
        restarts: 1
      })
      expect([...new Set(yield* effectNames("every-kind"))].sort()).toEqual([...every].sort())
      expect(names).toEqual(expect.arrayContaining(every))
      for (const name of every) {
        expect(text).toMatch(new RegExp(`^${name}(_total|_count|_sum)?\\{supervisor="every-kind"`, "m"))
      }
    }))

  it.live("every supervisor_* metric is scraped at 0 right after make, counters as Prometheus counters", () =>
    Effect.gen(function*() {
      const prometheus = new PrometheusExporter({ preventServerStart: true })
      const text = yield* Effect.gen(function*() {
        yield* Supervisor.make({ workers: 1, name: "fresh-scrape", handler: Effect.succeed })
        const url = yield* scrapeEndpoint(prometheus)
        return yield* Effect.promise(() => fetch(url).then((response) => response.text()))
      }).pipe(Effect.scoped, Effect.provide(telemetry(new InMemorySpanExporter(), prometheus)))
      // each sample without its labels; the histograms' buckets are left out
      const samples = text.split("\n")
        .filter((line) => line.includes(`supervisor="fresh-scrape"`) && !line.includes("_bucket{"))
        .map((line) => line.replace(/\{.*\}/, ""))
      expect(samples.sort()).toEqual(
        [
          ...counters.map((name) => `${name}_total 0`),
          "supervisor_tasks_queued 0",
          "supervisor_tasks_running 0",
          ...["supervisor_task_duration_ms", "supervisor_task_queued_ms"].flatMap((name) => [
            `${name}_count 0`,
            `${name}_sum 0`
          ])
        ].sort()
      )
      for (const name of counters) expect(text).toContain(`# TYPE ${name}_total counter`)
    }))
})

describe("metrics before the first task", () => {
  it.effect("make registers every supervisor_* metric at 0", () =>
    Effect.gen(function*() {
      yield* Supervisor.make({ workers: 2, name: "fresh-snapshot", handler: Effect.succeed })
      const pairs = (yield* Metric.snapshot).filter((pair) =>
        pair.metricKey.tags.some((tag) => tag.key === "supervisor" && tag.value === "fresh-snapshot")
      )
      const zero = (state: MetricState.MetricState.Untyped) =>
        MetricState.isCounterState(state)
          ? state.count === 0
          : MetricState.isGaugeState(state)
          ? state.value === 0
          : MetricState.isHistogramState(state) && state.count === 0 && state.sum === 0
      expect(pairs.map((pair) => [pair.metricKey.name, zero(pair.metricState)]).sort()).toEqual(
        [...every].sort().map((name) => [name, true])
      )
    }).pipe(Effect.scoped))
})

describe("metrics of a name", () => {
  // a name's metric objects are kept for the 64 names used last: a supervisor after the
  // name dropped out of that set builds them again, on the same series
  it.effect("supervisors of one name add to one series, before and after 70 other names", () =>
    Effect.gen(function*() {
      const name = "one-series"
      const count = (metric: string) =>
        Effect.map(Metric.snapshot, (pairs) => {
          const pair = pairs.find((pair) =>
            pair.metricKey.name === metric &&
            pair.metricKey.tags.some((tag) => tag.key === "supervisor" && tag.value === name)
          )!
          const state = pair.metricState
          return MetricState.isCounterState(state)
            ? Number(state.count)
            : MetricState.isHistogramState(state)
            ? state.count
            : Number.NaN
        })
      const run = (supervisor: string, tasks: number) =>
        Supervisor.run(Array.from({ length: tasks }, (_, i) => i), {
          workers: 2,
          name: supervisor,
          spans: false,
          handler: (x: number) => Effect.succeed(x)
        })
      yield* run(name, 3)
      yield* run(name, 4)
      for (let other = 0; other < 70; other++) yield* run(`one-series-other-${other}`, 1)
      yield* run(name, 5)
      expect(yield* count("supervisor_tasks_submitted")).toBe(12)
      expect(yield* count("supervisor_tasks_succeeded")).toBe(12)
      expect(yield* count("supervisor_task_duration_ms")).toBe(12)
      expect(yield* count("supervisor_task_queued_ms")).toBe(12)
    }))
})
