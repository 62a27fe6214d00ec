import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Metric, MetricKey } from "effect"
import * as histogram from "../../src/internal/histogram.js"

let series = 0
/** A key no one has used yet (the registry is global). */
const freshKey = () => MetricKey.histogram(`histogram_test_${series++}`, histogram.millis)

/** Samples as a supervisor takes them (small integers, mostly) and anything else a number can be. */
const sample = fc.oneof(
  fc.integer({ min: -3, max: 70 }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.constantFrom(0, 1, 2, 65_535, 65_536, 65_537, 2 ** 32, Infinity, -Infinity, -0),
  fc.double({ noNaN: true })
)

describe("histogram", () => {
  it("reads what Effect's own histogram hook reads for the same samples", () =>
    fc.assert(
      fc.property(fc.array(sample, { maxLength: 200 }), (samples) => {
        const ours = histogram.make()
        // a key that is not installed: Effect's own hook
        const effects = Metric.fromMetricKey(freshKey())
        for (const value of samples) {
          ours.update(value)
          effects.unsafeUpdate(value, [])
        }
        expect(ours.get()).toEqual(effects.unsafeValue([]))
      }),
      { numRuns: 3000 }
    ))

  it.effect("an installed key is read through the registry like any metric", () =>
    Effect.gen(function*() {
      const key = freshKey()
      const installed = histogram.install(key)
      expect(histogram.install(key)).toBe(installed) // a second supervisor of that name shares it
      for (const value of [0, 0, 3, 70_000]) installed.update(value)
      // what a user (or an exporter, through the snapshot) reads for that key
      const state = yield* Metric.value(Metric.fromMetricKey(key))
      expect(state.count).toBe(4)
      expect(state.sum).toBe(70_003)
      expect(state.buckets.slice(0, 3)).toEqual([[1, 2], [2, 2], [4, 3]])
      expect(state.buckets.at(-1)).toEqual([Infinity, 4])
      const pair = Metric.unsafeSnapshot().find((pair) => pair.metricKey.name === key.name)
      expect(pair?.metricState).toEqual(state)
      // the hook in the registry is ours (with Effect's own the series would read the same,
      // only slower: this is what tells that `install` still reaches the registry's map)
      expect(Metric.globalMetricRegistry.getHistogram(key)).toBe(installed)
      expect(histogram.Own in installed).toBe(true)
    }))
})
