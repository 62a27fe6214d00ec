import { Effect, Metric, MetricState } from "effect"

/** The histogram `metric` Effect recorded for the supervisor named `name`. */
export const histogram = (name: string, metric: string) =>
  Effect.map(Metric.snapshot, (pairs) => {
    const state = pairs.find((pair) =>
      pair.metricKey.name === metric &&
      pair.metricKey.tags.some((tag) => tag.key === "supervisor" && tag.value === name)
    )!.metricState
    if (!MetricState.isHistogramState(state)) throw new Error(`${metric} is no histogram`)
    return state
  })
