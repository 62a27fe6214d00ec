import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck, Schedule, Schema, TestClock, TestContext } from "effect"
import { Durable } from "effect-supervisor/durable"

class Flaky extends Schema.TaggedError<Flaky>()("Flaky", {}) {}

const Jobs = Durable.queue("prop", {
  task: Schema.Struct({ index: Schema.Number, failTimes: Schema.Number }),
  success: Schema.Number,
  failure: Flaky,
  maxAttempts: 3,
  lease: "300 millis"
})

const Scenario = FastCheck.record({
  failTimes: FastCheck.array(FastCheck.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 25 }),
  // a consumer that claims `limit` jobs at `step` and dies (never acknowledges, never renews)
  crashes: FastCheck.array(
    FastCheck.record({ step: FastCheck.integer({ min: 0, max: 9 }), limit: FastCheck.integer({ min: 1, max: 5 }) }),
    { maxLength: 4 }
  ),
  cancels: FastCheck.array(
    FastCheck.record({ step: FastCheck.integer({ min: 0, max: 9 }), job: FastCheck.nat() }),
    { maxLength: 4 }
  )
})
type Scenario = typeof Scenario extends FastCheck.Arbitrary<infer A> ? A : never

const terminal = (state: Durable.JobState) => state === "succeeded" || state === "dead" || state === "cancelled"

const play = (scenario: Scenario) =>
  Effect.scoped(Effect.gen(function*() {
    const store = yield* Durable.Store
    const producer = yield* Durable.producer(Jobs)
    const ids = yield* producer.offerAll(scenario.failTimes.map((failTimes, index) => ({ index, failTimes })))
    const consumers = yield* Effect.forEach([1, 2], () =>
      Durable.consumer({
        queue: Jobs,
        workers: 2,
        timeout: "1 second",
        retry: Schedule.spaced("50 millis"),
        handler: (task, ctx) =>
          Effect.zipRight(
            Effect.sleep("20 millis"),
            ctx.attempt <= task.failTimes ? Effect.fail(new Flaky()) : Effect.succeed(task.index * 2)
          )
      }))
    const cancelled = new Set<string>()
    for (let step = 0; step < 10; step++) {
      for (const crash of scenario.crashes) {
        if (crash.step === step) yield* store.claim("prop", `crashed-${step}`, crash.limit, 300)
      }
      for (const cancel of scenario.cancels) {
        if (cancel.step !== step) continue
        const id = ids[cancel.job % ids.length]
        if (yield* producer.cancel(id)) cancelled.add(id)
      }
      yield* TestClock.adjust("30 millis")
    }
    let infos: Array<Durable.JobInfo<number, Flaky>> = []
    for (let round = 0; round < 2000; round++) {
      infos = yield* Effect.forEach(ids, producer.status)
      if (infos.every((info) => terminal(info.state))) break
      yield* TestClock.adjust("20 millis")
    }
    return { infos, cancelled, stats: yield* Effect.forEach(consumers, (consumer) => consumer.stats) }
  })).pipe(Effect.provide(Durable.layerMemory))

describe("Durable on layerMemory: random crashes, cancels, retries and lease expiries", () => {
  it("nothing is lost and every job has exactly one completion", async () => {
    await FastCheck.assert(
      FastCheck.asyncProperty(Scenario, async (scenario) => {
        const { cancelled, infos, stats } = await Effect.runPromise(
          play(scenario).pipe(Effect.provide(TestContext.TestContext))
        )
        // nothing lost: every job reached an end
        expect(infos.filter((info) => !terminal(info.state))).toEqual([])
        for (const [index, info] of infos.entries()) {
          if (info.state === "cancelled") expect(cancelled.has(info.id)).toBe(true)
          if (info.state === "succeeded") expect(info.result).toBe(index * 2)
          // dead only once out of deliveries (failed ones, or ones whose consumer died)
          if (info.state === "dead") expect(info.attempts).toBe(3)
          if (info.state === "succeeded" && !cancelled.has(info.id)) {
            expect(info.attempts).toBeGreaterThan(scenario.failTimes[index])
          }
        }
        // exactly one completion record per job: every success acknowledgement that won is one job
        const succeeded = infos.filter((info) => info.state === "succeeded").length
        expect(stats.reduce((sum, s) => sum + s.succeeded, 0)).toBe(succeeded)
        expect(stats.every((s) => s.held === 0)).toBe(true)
      }),
      { numRuns: 30 }
    )
  }, 60_000)
})
