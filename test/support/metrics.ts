import { Effect, Metric, MetricState } from "effect"

/** The state of `metric` Effect recorded for the supervisor named `name`. */
const stateOf = (name: string, metric: string) =>
  Effect.map(Metric.snapshot, (pairs) =>
    pairs.find((pair) =>
      pair.metricKey.name === metric &&
      pair.metricKey.tags.some((tag) => tag.key === "supervisor" && tag.value === name)
    )!.metricState)

/** The histogram `metric` Effect recorded for the supervisor named `name`. */
export const histogram = (name: string, metric: string) =>
  Effect.map(stateOf(name, metric), (state) => {
    if (!MetricState.isHistogramState(state)) throw new Error(`${metric} is no histogram`)
    return state
  })

/** The gauge `metric`'s value for the supervisor named `name`. */
export const gauge = (name: string, metric: string) =>
  Effect.map(stateOf(name, metric), (state) => {
    if (!MetricState.isGaugeState(state)) throw new Error(`${metric} is no gauge`)
    return Number(state.value)
  })

/** The counter `metric`'s value for the supervisor named `name`. */
export const counter = (name: string, metric: string) =>
  Effect.map(stateOf(name, metric), (state) => {
    if (!MetricState.isCounterState(state)) throw new Error(`${metric} is no counter`)
    return Number(state.count)
  })
