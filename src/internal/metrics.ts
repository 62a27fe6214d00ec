/**
 * The supervisor's metrics, tagged once with its name.
 *
 * Counters are not touched per task: the supervisor keeps plain counters and `sync` pushes
 * the difference since the last sync (every 256 outcomes, at idle, at each restart and
 * timeout, on every `stats` read and at stop), so the metrics match `stats` at those points
 * and lag between them (README says how). Histograms take one sample
 * per task, into a hook of our own (see histogram.ts). Every metric is registered, at 0, when
 * the supervisor is made.
 *
 * @internal
 */
import * as Metric from "effect/Metric"
import * as MetricKey from "effect/MetricKey"
import * as histogram from "./histogram.js"

/** @internal */
export interface Counts {
  submitted: number
  succeeded: number
  failed: number
  defects: number
  interrupted: number
  dropped: number
  timeouts: number
  retries: number
  restarts: number
}

const counterNames: ReadonlyArray<keyof Counts> = [
  "submitted",
  "succeeded",
  "failed",
  "defects",
  "interrupted",
  "dropped",
  "timeouts",
  "retries",
  "restarts"
]

/** The metric objects of one supervisor name: every supervisor of that name updates the same series. */
interface Series {
  readonly counters: ReadonlyArray<Metric.Metric.Counter<number>>
  readonly queuedGauge: Metric.Metric.Gauge<number>
  readonly runningGauge: Metric.Metric.Gauge<number>
  readonly duration: histogram.Histogram
  readonly waiting: histogram.Histogram
}

const seriesOf = (name: string): Series => {
  // Tags go into the key itself: a `Metric.tagged` metric looks its hook up in the registry
  // on every update (~1 µs and garbage), an untagged one caches it.
  const tagged = <K extends MetricKey.MetricKey.Untyped>(key: K) => MetricKey.tagged(key, "supervisor", name) as K
  const series: Series = {
    // incremental: the counts only grow, and exporters can say so (a monotonic OpenTelemetry
    // sum, a Prometheus `counter` named `…_total`, so `rate()` handles restarts of the process)
    counters: counterNames.map((counter) =>
      Metric.fromMetricKey(tagged(MetricKey.counter(`supervisor_tasks_${counter}`, { incremental: true })))
    ),
    queuedGauge: Metric.fromMetricKey(tagged(MetricKey.gauge("supervisor_tasks_queued"))),
    runningGauge: Metric.fromMetricKey(tagged(MetricKey.gauge("supervisor_tasks_running"))),
    duration: histogram.install(tagged(MetricKey.histogram("supervisor_task_duration_ms", histogram.millis))),
    waiting: histogram.install(tagged(MetricKey.histogram("supervisor_task_queued_ms", histogram.millis)))
  }
  // A metric enters the registry (and so a snapshot or a Prometheus scrape) when its hook is
  // first looked up. Look each one up now: every series then reads 0 from the start
  // (`supervisor_tasks_failed_total 0`) instead of appearing with its first event, and the
  // per-task path stays as it was (the histograms are in it once installed).
  for (const metric of [...series.counters, series.queuedGauge, series.runningGauge]) {
    metric.unsafeValue([])
  }
  return series
}

/**
 * The series of the 64 names used last (least recently used first), so a name's keys are built
 * once, not per supervisor: building them (hashing each key's name, tags and description) cost
 * ~50 µs, a fifth of a one-task `Supervisor.run`. Bounded: names made per request or per tenant
 * would otherwise keep their objects here forever.
 */
const recent = new Map<string, Series>()
const RECENT_NAMES = 64

const cachedSeriesOf = (name: string): Series => {
  let series = recent.get(name)
  if (series === undefined) {
    series = seriesOf(name)
    if (recent.size >= RECENT_NAMES) recent.delete(recent.keys().next().value!)
  } else {
    recent.delete(name)
  }
  recent.set(name, series)
  return series
}

/**
 * Per name, the gauges' sums over the live supervisors of that name: a series is per name, so
 * two supervisors named alike (the default name, say) add up, as their counters do, instead of
 * each overwriting the other's value. A name leaves when its sums are back to 0 (every
 * supervisor's share is >= 0, so none is left then): bounded by the names busy at once.
 */
const loads = new Map<string, { queued: number; running: number }>()

/** @internal */
export class Metrics {
  private readonly counters: ReadonlyArray<Metric.Metric.Counter<number>>
  /** what this supervisor has added to each counter so far (`sync` adds the difference) */
  private readonly reported: Array<number> = counterNames.map(() => 0)
  private readonly queuedGauge: Metric.Metric.Gauge<number>
  private readonly runningGauge: Metric.Metric.Gauge<number>
  readonly duration: histogram.Histogram
  readonly waiting: histogram.Histogram
  /** this supervisor's share of its name's gauges (see `loads`) */
  private queued = 0
  private running = 0

  constructor(private readonly name: string) {
    const series = cachedSeriesOf(name)
    this.counters = series.counters
    this.queuedGauge = series.queuedGauge
    this.runningGauge = series.runningGauge
    this.duration = series.duration
    this.waiting = series.waiting
  }

  sync(counts: Counts, queued: number, running: number): void {
    for (let i = 0; i < counterNames.length; i++) {
      const value = counts[counterNames[i]!]
      const delta = value - this.reported[i]!
      if (delta !== 0) {
        this.reported[i] = value
        this.counters[i]!.unsafeUpdate(delta, [])
      }
    }
    if (queued === this.queued && running === this.running) return
    let load = loads.get(this.name)
    if (load === undefined) loads.set(this.name, load = { queued: 0, running: 0 })
    load.queued += queued - this.queued
    load.running += running - this.running
    this.queued = queued
    this.running = running
    this.queuedGauge.unsafeUpdate(load.queued, [])
    this.runningGauge.unsafeUpdate(load.running, [])
    if (load.queued === 0 && load.running === 0) loads.delete(this.name)
  }
}
