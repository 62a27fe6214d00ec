/**
 * The supervisor's millisecond histograms (task duration, time queued): Effect histograms,
 * read through Effect's metric registry like any other (`Metric.snapshot`, exporters), whose
 * samples are bucketed in O(1).
 *
 * Why not Effect's own hook: it finds a sample's bucket by binary search, whose branches a
 * worker's stream of varied samples mispredicts: ~50 ns a sample in a worker loop (two per
 * task: measured, streaming 1M sync tasks, 0.37 → 0.27 µs/task without them). Here the
 * boundaries are powers of two, so an integer sample's bucket is its bit length; other
 * samples (fractions, from a clock of finer resolution) take a scan of the 18 boundaries. The
 * state read (`get`) is what Effect's hook gives for the same samples (property-tested), except
 * that a bucket's count does not wrap at 2^32.
 *
 * Effect-version-specific: it puts the hook in the registry's map (`install`), an internal of
 * effect 3's `MetricRegistry`. Without that map (another version) the key gets Effect's own
 * hook: the same series, at Effect's cost.
 *
 * @internal
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricHook from "effect/MetricHook"
import type * as MetricKey from "effect/MetricKey"
import * as MetricState from "effect/MetricState"
import * as MutableHashMap from "effect/MutableHashMap"
import * as Predicate from "effect/Predicate"

/** 1, 2, 4, …, 65,536 ms and +∞: the boundaries every supervisor histogram has. */
export const millis = MetricBoundaries.exponential({ start: 1, factor: 2, count: 18 })

/** The largest power-of-two boundary (the one before +∞). */
const TOP = 65_536

/** Marks the hooks made here: a test checks that `install` put one in the registry. */
export const Own: unique symbol = Symbol.for("effect-supervisor/Histogram")

/** Counts one sample; `get` reads the same state as Effect's histogram hook would. */
export interface Histogram {
  readonly update: (value: number) => void
}

/** A histogram hook over `millis`. */
export const make = (): MetricHook.MetricHook.Histogram & Histogram & { readonly [Own]: true } => {
  const boundaries = millis.values
  const size = boundaries.length
  // one per boundary, and one past the last for a sample above every boundary (NaN only).
  // Doubles, not Effect's Uint32Array: a bucket of a supervisor doing 1M tasks a second would
  // wrap in about 70 minutes; these count exactly to 2^53.
  const counts = new Float64Array(size + 1)
  let count = 0
  let sum = 0
  // Effect's hook starts from these (so a histogram with no samples reads the same)
  let min = Number.MAX_VALUE
  let max = Number.MIN_VALUE
  const bucketOf = (value: number): number => {
    if (value <= 1) return 0
    if (value <= TOP && Number.isInteger(value)) return 32 - Math.clz32(value - 1)
    let i = 0
    while (i < size && !(value <= boundaries[i]!)) i++
    return i
  }
  const update = (value: number): void => {
    counts[bucketOf(value)]!++
    count++
    sum += value
    if (value < min) min = value
    if (value > max) max = value
  }
  const hook = MetricHook.make({
    get: () => {
      const buckets: Array<readonly [number, number]> = []
      let cumulated = 0
      for (let i = 0; i < size; i++) {
        cumulated += counts[i]!
        buckets.push([boundaries[i]!, cumulated])
      }
      return MetricState.histogram({ buckets, count, min, max, sum })
    },
    update,
    modify: update
  })
  return Object.assign(hook, { [Own]: true as const })
}

interface Registry {
  readonly map?: unknown
}

const isMutableHashMap = (u: unknown): u is MutableHashMap.MutableHashMap<unknown, unknown> =>
  Predicate.hasProperty(u, Symbol.for("effect/MutableHashMap"))

/**
 * The hook the registry holds for `key` (a histogram over `millis`): a new one from `make`
 * when the key has none yet, else the one it has (another supervisor of the same name, or a
 * user who read the series first).
 */
export const install = (key: MetricKey.MetricKey.Histogram): Histogram => {
  const map = (Metric.globalMetricRegistry as Registry).map
  if (isMutableHashMap(map) && !MutableHashMap.has(map, key)) {
    MutableHashMap.set(map, key, make())
  }
  return Metric.globalMetricRegistry.getHistogram(key)
}
