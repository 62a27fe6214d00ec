import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import {
  Clock,
  Data,
  Deferred,
  Duration,
  Effect,
  Fiber,
  Layer,
  Metric,
  MetricState,
  Ref,
  Schedule,
  Schema,
  type Scope,
  TestClock
} from "effect"
import { Errors, Supervisor } from "effect-supervisor"
import { Durable } from "effect-supervisor/durable"
import { join } from "node:path"
import pg from "pg"
import {
  backends,
  drive,
  dropPgTables,
  eventually,
  pgUrl,
  removeDir,
  requirePg,
  tempDir,
  uniqueTable
} from "./durable/backends.js"

class Bounced extends Schema.TaggedError<Bounced>()("Bounced", { to: Schema.String }) {}
class Transient extends Data.TaggedError("Transient")<{}> {}

const Emails = Durable.queue("emails", {
  task: Schema.Struct({ to: Schema.String }),
  success: Schema.String,
  failure: Bounced,
  maxAttempts: 3,
  lease: "600 millis"
})

/** one delivery per job: a spent attempt shows as a dead letter */
const Ticks = Durable.queue("ticks", {
  task: Schema.Void,
  success: Schema.Void,
  failure: Schema.Never,
  maxAttempts: 1,
  lease: "30 seconds"
})
const Texts = Durable.queue("texts", {
  task: Schema.String,
  success: Schema.String,
  failure: Schema.Never,
  maxAttempts: 1,
  lease: "30 seconds"
})
const Once = Durable.queue("once", {
  task: Schema.Number,
  success: Schema.Number,
  failure: Schema.Never,
  maxAttempts: 1,
  lease: "600 millis"
})

const all = backends()
beforeAll(requirePg)
afterAll(all.cleanup)

for (const backend of all.list) {
  describe(`Durable consumer on ${backend.name}`, () => {
    const run = <A, E>(effect: Effect.Effect<A, E, Durable.Store | Scope.Scope>) =>
      Effect.provide(Effect.scoped(effect), backend.fresh())

    it.live("runs every job once with ctx { id, attempt, deadline } and stores the results", () =>
      run(Effect.gen(function*() {
        const emails = yield* Durable.producer(Emails)
        const ids = yield* emails.offerAll(Array.from({ length: 50 }, (_, i) => ({ to: `u${i}` })))
        const seen = yield* Ref.make<Array<string>>([])
        const consumer = yield* Supervisor.make({
          queue: Emails,
          workers: 4,
          timeout: "5 seconds",
          handler: (email, ctx) =>
            Effect.gen(function*() {
              expect(ctx.attempt).toBe(1)
              expect(ctx.deadline.getTime()).toBeGreaterThan(Date.now())
              yield* Ref.update(seen, (list) => [...list, ctx.id])
              return `sent ${email.to}`
            })
        })
        const last = yield* emails.await(ids[49])
        expect(last).toMatchObject({ state: "succeeded", result: "sent u49", attempts: 1 })
        yield* eventually(consumer.stats, (stats) => stats.succeeded === 50 && stats.held === 0)
        expect([...(yield* Ref.get(seen))].sort()).toEqual([...ids].sort())
        expect((yield* emails.status(ids[0])).result).toBe("sent u0")
      })))

    it.live("retry is durable: the next delivery's due time is written; typed errors end as dead letters", () =>
      run(Effect.gen(function*() {
        const emails = yield* Durable.producer(Emails)
        const flaky = yield* emails.offer({ to: "flaky" })
        const bounce = yield* emails.offer({ to: "bounce" })
        yield* Durable.consumer({
          queue: Emails,
          workers: 2,
          timeout: "5 seconds",
          retry: Schedule.spaced("50 millis"),
          handler: (email, ctx) =>
            email.to === "bounce"
              ? Effect.fail(new Bounced({ to: email.to }))
              : ctx.attempt < 3
              ? Effect.fail(new Bounced({ to: "again" }))
              : Effect.succeed(`ok after ${ctx.attempt}`)
        })
        expect(yield* emails.await(flaky)).toMatchObject({ state: "succeeded", attempts: 3, result: "ok after 3" })
        const dead = yield* emails.await(bounce)
        expect(dead).toMatchObject({ state: "dead", attempts: 3 })
        expect(dead.lastError).toEqual({ _tag: "Failure", error: new Bounced({ to: "bounce" }) })
      })))

    it.live("a delivery past timeout is a Timeout; without retry it is dead at once", () =>
      run(Effect.gen(function*() {
        const emails = yield* Durable.producer(Emails)
        const id = yield* emails.offer({ to: "slow" })
        yield* Durable.consumer({
          queue: Emails,
          workers: 1,
          timeout: "50 millis",
          handler: () => Effect.as(Effect.sleep("5 seconds"), "late")
        })
        expect(yield* emails.await(id)).toMatchObject({ state: "dead", attempts: 1, lastError: { _tag: "Timeout" } })
      })))

    it.live("a job running longer than its lease keeps it (renewed every lease/3) and runs once", () =>
      run(Effect.gen(function*() {
        const emails = yield* Durable.producer(Emails)
        const id = yield* emails.offer({ to: "long" })
        const runs = yield* Ref.make(0)
        const handler = () =>
          Effect.zipRight(Ref.update(runs, (n) => n + 1), Effect.as(Effect.sleep("1500 millis"), "done"))
        yield* Durable.consumer({ queue: Emails, workers: 1, timeout: "5 seconds", handler })
        yield* Durable.consumer({ queue: Emails, workers: 1, timeout: "5 seconds", handler })
        expect(yield* emails.await(id)).toMatchObject({ state: "succeeded", attempts: 1 })
        expect(yield* Ref.get(runs)).toBe(1)
      })))

    it.live("cancel interrupts a running job where it runs (at its next renewal) and it never completes", () =>
      run(Effect.gen(function*() {
        const emails = yield* Durable.producer(Emails)
        const id = yield* emails.offer({ to: "cancel me" })
        const interrupted = yield* Ref.make(false)
        const consumer = yield* Durable.consumer({
          queue: Emails,
          workers: 1,
          timeout: "10 seconds",
          handler: () =>
            Effect.as(Effect.sleep("10 seconds"), "finished").pipe(
              Effect.onInterrupt(() => Ref.set(interrupted, true))
            )
        })
        yield* eventually(emails.status(id), (info) => info.state === "running")
        const cancelledAt = Date.now()
        expect(yield* emails.cancel(id)).toBe(true)
        yield* eventually(Ref.get(interrupted), (done) => done, 2000)
        expect(Date.now() - cancelledAt).toBeLessThan(600)
        expect((yield* emails.status(id)).state).toBe("cancelled")
        yield* eventually(consumer.stats, (stats) => stats.held === 0 && stats.dropped === 1)
      })))

    it.live("shutdownNow hands unstarted jobs back at once (attempt given back), not after their lease", () =>
      run(Effect.gen(function*() {
        const emails = yield* Durable.producer(Emails)
        const ids = yield* emails.offerAll(Array.from({ length: 6 }, (_, i) => ({ to: `h${i}` })))
        const first = yield* Durable.consumer({
          queue: Emails,
          workers: 1,
          prefetch: 5,
          timeout: "10 seconds",
          handler: () => Effect.as(Effect.never, "never")
        })
        yield* eventually(first.stats, (stats) => stats.held === 6 && stats.running === 1)
        const stats = yield* first.shutdownNow
        expect(stats.handedBack).toBe(6)
        const infos = yield* Effect.forEach(ids, emails.status)
        expect(infos.map((info) => info.state)).toEqual(Array(6).fill("queued"))
        // none spent an attempt: five never started, and the consumer itself interrupted the sixth
        expect(infos.map((info) => info.attempts)).toEqual([0, 0, 0, 0, 0, 0])
        yield* Durable.consumer({
          queue: Emails,
          workers: 3,
          timeout: "5 seconds",
          handler: (e) => Effect.succeed(e.to)
        })
        const done = yield* Effect.forEach(ids, (id) => emails.await(id))
        expect(done.every((info) => info.state === "succeeded")).toBe(true)
      })))

    it.live("a deploy during the last allowed attempt (maxAttempts: 1) hands every job back unspent", () =>
      run(Effect.gen(function*() {
        const once = yield* Durable.producer(Once)
        const ids = yield* once.offerAll([1, 2, 3])
        // a deploy: the scope closes while two jobs run and a third waits
        const stopped = yield* Effect.scoped(Effect.gen(function*() {
          const consumer = yield* Durable.consumer({
            queue: Once,
            workers: 2,
            prefetch: 1,
            timeout: "10 seconds",
            handler: () => Effect.never
          })
          yield* eventually(consumer.stats, (stats) => stats.running === 2 && stats.held === 3)
          return consumer
        }))
        expect(yield* stopped.stats).toMatchObject({ handedBack: 3, dead: 0, held: 0 })
        const infos = yield* Effect.forEach(ids, once.status)
        expect(infos.map((info) => [info.state, info.attempts])).toEqual(Array(3).fill(["queued", 0]))
        const attempts: Array<number> = []
        yield* Durable.consumer({
          queue: Once,
          workers: 2,
          timeout: "5 seconds",
          handler: (n, ctx) => Effect.sync(() => (attempts.push(ctx.attempt), n * 10))
        })
        const done = yield* Effect.forEach(ids, (id) => once.await(id))
        expect(done.map((info) => [info.state, info.attempts, info.result])).toEqual([
          ["succeeded", 1, 10],
          ["succeeded", 1, 20],
          ["succeeded", 1, 30]
        ])
        expect(attempts).toEqual([1, 1, 1])
      })))

    it.live("shutdown drains what it holds and flushes the acknowledgements", () =>
      run(Effect.gen(function*() {
        const emails = yield* Durable.producer(Emails)
        const ids = yield* emails.offerAll(Array.from({ length: 20 }, (_, i) => ({ to: `d${i}` })))
        const consumer = yield* Durable.consumer({
          queue: Emails,
          workers: 2,
          timeout: "5 seconds",
          handler: (e) => Effect.as(Effect.sleep("20 millis"), e.to)
        })
        yield* eventually(consumer.stats, (stats) => stats.claimed > 0)
        const stats = yield* consumer.shutdown
        expect(stats.held).toBe(0)
        const states = yield* Effect.forEach(ids, (id) => Effect.map(emails.status(id), (info) => info.state))
        expect(states.filter((state) => state === "succeeded").length).toBe(stats.succeeded)
        expect(states.every((state) => state === "succeeded" || state === "queued")).toBe(true)
        expect(stats.succeeded).toBeGreaterThan(0)
      })))

    it.live("prefetch adapts to slow handlers: two consumers share 6 slow jobs", () =>
      run(Effect.gen(function*() {
        const emails = yield* Durable.producer(Emails)
        const ids = yield* emails.offerAll(Array.from({ length: 8 }, (_, i) => ({ to: `s${i}` })))
        const ranBy = yield* Ref.make<Record<string, number>>({})
        const slow = (name: string) => () =>
          Effect.zipRight(
            Ref.update(ranBy, (counts) => ({ ...counts, [name]: (counts[name] ?? 0) + 1 })),
            Effect.as(Effect.sleep("300 millis"), name)
          )
        yield* Durable.consumer({ queue: Emails, workers: 1, timeout: "5 seconds", handler: slow("a") })
        yield* Effect.sleep("50 millis")
        yield* Durable.consumer({ queue: Emails, workers: 1, timeout: "5 seconds", handler: slow("b") })
        yield* Effect.forEach(ids, (id) => emails.await(id))
        const counts = yield* Ref.get(ranBy)
        expect(counts.a + counts.b).toBe(8)
        expect(Math.min(counts.a, counts.b)).toBeGreaterThanOrEqual(3)
      })))

    it.live("a job that does not decode becomes a dead letter with a Defect", () =>
      run(Effect.gen(function*() {
        const store = yield* Durable.Store
        const [id] = yield* store.enqueue("emails", [{
          payload: "{\"wrong\":1}",
          idempotencyKey: null,
          key: null,
          priority: 0,
          runAt: null,
          delayMillis: 0,
          maxAttempts: 3
        }])
        const emails = yield* Durable.producer(Emails)
        yield* Durable.consumer({
          queue: Emails,
          workers: 1,
          timeout: "1 second",
          handler: (e) => Effect.succeed(e.to)
        })
        const info = yield* emails.await(id)
        expect(info.state).toBe("dead")
        expect(info.lastError?._tag).toBe("Defect")
      })))

    it.live("handlers that complete without waiting: each kind ends as it would on a fiber of its own", () =>
      run(Effect.gen(function*() {
        const once = yield* Durable.producer(Once)
        // 0: succeed, 1: sync, 2: die, 3: a throw before any effect, 4: a throw inside sync,
        // 5: no Effect at all (a Promise)
        const ids = yield* once.offerAll([0, 1, 2, 3, 4, 5])
        yield* Durable.consumer({
          queue: Once,
          workers: 2,
          timeout: "5 seconds",
          handler: (n): Effect.Effect<number> => {
            switch (n) {
              case 0:
                return Effect.succeed(100)
              case 1:
                return Effect.sync(() => 101)
              case 2:
                return Effect.die("failed in place")
              case 3:
                throw new Error("thrown before any effect")
              case 4:
                return Effect.sync(() => {
                  throw new Error("thrown inside sync")
                })
              default:
                return Promise.resolve(105) as unknown as Effect.Effect<number>
            }
          }
        })
        const infos = yield* Effect.forEach(ids, (id) => once.await(id))
        expect(infos.map((info) => info.state)).toEqual(["succeeded", "succeeded", "dead", "dead", "dead", "dead"])
        expect(infos[0]).toMatchObject({ result: 100, attempts: 1 })
        expect(infos[1]).toMatchObject({ result: 101, attempts: 1 })
        expect(infos.slice(2).map((info) => info.lastError?._tag)).toEqual(["Defect", "Defect", "Defect", "Defect"])
        expect(JSON.stringify(infos[3]!.lastError)).toContain("thrown before any effect")
        expect(JSON.stringify(infos[4]!.lastError)).toContain("thrown inside sync")
        expect(JSON.stringify(infos[5]!.lastError)).toContain("handler must return an Effect, got a Promise")
      })))

    it.live("any task the schema encodes: undefined (Schema.Void), quotes and control characters", () =>
      run(Effect.gen(function*() {
        const ticks = yield* Durable.producer(Ticks)
        const texts = yield* Durable.producer(Texts)
        // one payload alone and several in one statement: both ways in
        const tickIds = [
          yield* ticks.offer(undefined),
          ...(yield* ticks.offerAll([undefined])),
          ...(yield* ticks.offerAll([undefined, undefined]))
        ]
        const odd = ["", "\u001e", "a\u001eb", "\"quoted\" \\ \n\t\u0000", "\u001e\u001e", "{\"not\": \"json\"}"]
        const textIds = [...(yield* texts.offerAll(odd.slice(0, 1))), ...(yield* texts.offerAll(odd.slice(1)))]
        const seen = yield* Ref.make<ReadonlyArray<unknown>>([])
        yield* Durable.consumer({
          queue: Ticks,
          workers: 1,
          timeout: "5 seconds",
          handler: (tick) => Ref.update(seen, (all) => [...all, tick])
        })
        yield* Durable.consumer({
          queue: Texts,
          workers: 1,
          timeout: "5 seconds",
          handler: (text) => Effect.succeed(text)
        })
        const tickInfos = yield* Effect.forEach(tickIds, (id) => ticks.await(id))
        expect(tickInfos.map((info) => info.state)).toEqual(["succeeded", "succeeded", "succeeded", "succeeded"])
        expect(yield* Ref.get(seen)).toEqual([undefined, undefined, undefined, undefined])
        const textInfos = yield* Effect.forEach(textIds, (id) => texts.await(id))
        expect(textInfos.map((info) => info.result)).toEqual(odd)
      })))
  })
}

describe("Durable consumer: options", () => {
  it.effect("timeout is required", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(Supervisor.make({
        queue: Emails,
        workers: 1,
        handler: (e: { readonly to: string }) => Effect.succeed(e.to)
      } as unknown as Durable.ConsumerOptions<{ readonly to: string }, string, Bounced, never>)))
      expect(error).toBeInstanceOf(Errors.InvalidOptions)
      expect(error.message).toContain("timeout is required")
    }).pipe(Effect.provide(Durable.layerMemory)))

  it.effect("a retry that is no Schedule, an await pollInterval that is no duration: InvalidOptions", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(Supervisor.make({
        queue: Emails,
        workers: 1,
        timeout: "1 second",
        retry: 5,
        handler: (e: { readonly to: string }) => Effect.succeed(e.to)
      } as unknown as Durable.ConsumerOptions<{ readonly to: string }, string, Bounced, never>)))
      expect(error).toEqual(new Errors.InvalidOptions({ message: "retry must be a Schedule, got 5" }))
      const emails = yield* Durable.producer(Emails)
      const id = yield* emails.offer({ to: "a@example.com" })
      for (const pollInterval of ["soon", Duration.infinity] as ReadonlyArray<Duration.DurationInput>) {
        const awaited = yield* Effect.flip(emails.await(id, { pollInterval }))
        expect(awaited).toBeInstanceOf(Errors.InvalidOptions)
        expect(awaited.message).toContain("pollInterval must be a finite Duration input")
      }
    }).pipe(Effect.provide(Durable.layerMemory)))

  it.effect("a bad queue definition is InvalidOptions from the producer and the consumer", () =>
    Effect.gen(function*() {
      const Bad = Durable.queue("bad", {
        task: Schema.Number,
        success: Schema.Void,
        failure: Schema.Never,
        maxAttempts: 0,
        lease: "1 second"
      })
      const fromProducer = yield* Effect.flip(Durable.producer(Bad))
      expect(fromProducer.message).toBe("maxAttempts must be an integer >= 1, got 0")
      const fromConsumer = yield* Effect.flip(
        Effect.scoped(Durable.consumer({ queue: Bad, workers: 1, timeout: "1 second", handler: () => Effect.void }))
      )
      expect(fromConsumer.message).toBe("maxAttempts must be an integer >= 1, got 0")
      // PostgreSQL's column is 32-bit: accepted, every offer failed there
      const Endless = Durable.queue("endless", {
        task: Schema.Number,
        success: Schema.Void,
        failure: Schema.Never,
        maxAttempts: Number.MAX_SAFE_INTEGER,
        lease: "1 second"
      })
      expect((yield* Effect.flip(Durable.producer(Endless))).message).toBe(
        `maxAttempts must be at most 2147483647, got ${Number.MAX_SAFE_INTEGER}`
      )
      const Kept = (
        retention: { readonly succeeded?: Duration.DurationInput; readonly dead?: Duration.DurationInput }
      ) =>
        Durable.producer(Durable.queue("kept", {
          task: Schema.Number,
          success: Schema.Void,
          failure: Schema.Never,
          maxAttempts: 1,
          lease: "1 second",
          retention
        }))
      const forever = yield* Effect.flip(Kept({ succeeded: Duration.infinity }))
      expect(forever.message).toBe("retention.succeeded must be a finite Duration input, got Duration(Infinity)")
      const garbled = yield* Effect.flip(Kept({ dead: "a while" as Duration.DurationInput }))
      expect(garbled.message).toBe("retention.dead must be a finite Duration input, got a while")
    }).pipe(Effect.provide(Durable.layerMemory)))

  it.effect("retry is durable only: the in-process supervisor never retries on its own", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const producer = yield* Durable.producer(Once)
      const id = yield* producer.offer(1)
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Durable.consumer({
          queue: Once,
          workers: 1,
          timeout: "1 second",
          retry: Schedule.recurs(5),
          handler: () => Effect.zipRight(Ref.update(calls, (n) => n + 1), Effect.fail(new Transient() as never))
        })
        yield* drive(producer.await(id))
      }))
      expect(yield* Ref.get(calls)).toBe(1)
      expect((yield* producer.status(id)).state).toBe("dead")
    }).pipe(Effect.provide(Durable.layerMemory)))
})

describe("Durable consumer: shutdown", () => {
  it.effect("a shutdown while a claim is in flight hands that claim's jobs back at once, not after their lease", () =>
    Effect.gen(function*() {
      const claimed = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      // the claim has taken its rows in the store, and its answer is still on the way
      const slowClaims = Layer.effect(
        Durable.Store,
        Effect.map(Durable.Store, (store): Durable.Store["Type"] => ({
          ...store,
          claim: (...args) =>
            Effect.zipLeft(
              store.claim(...args),
              Effect.zipRight(Deferred.succeed(claimed, undefined), Deferred.await(gate))
            )
        }))
      ).pipe(Layer.provide(Durable.layerMemory))
      yield* Effect.gen(function*() {
        const emails = yield* Durable.producer(Emails)
        // one worker claims 2 at first (itself and one ahead)
        const ids = yield* emails.offerAll([{ to: "a" }, { to: "b" }])
        const consumer = yield* Durable.consumer({
          queue: Emails,
          workers: 1,
          timeout: "1 second",
          handler: (e) => Effect.succeed(e.to)
        })
        yield* Deferred.await(claimed)
        expect((yield* Effect.forEach(ids, emails.status)).map((info) => info.state)).toEqual(["running", "running"])
        const stopping = yield* Effect.fork(consumer.shutdownNow)
        yield* Deferred.succeed(gate, undefined)
        const stats = yield* Fiber.join(stopping)
        expect(stats).toMatchObject({ claimed: 2, handedBack: 2, held: 0 })
        // no time has passed: the lease (600 ms) has not run out, yet another consumer gets both
        expect((yield* Effect.forEach(ids, emails.status)).map((info) => info.state)).toEqual(["queued", "queued"])
        const store = yield* Durable.Store
        expect((yield* store.claim("emails", "another", 10, 600)).map((job) => job.id)).toEqual(ids)
      }).pipe(Effect.scoped, Effect.provide(slowClaims))
    }))
})

describe("Durable consumer: a store that cannot write (TestClock)", () => {
  it.effect("a stop flushes while its leases last, not 20 slow tries", () =>
    Effect.gen(function*() {
      const leased = Durable.queue("leased", {
        task: Schema.Number,
        success: Schema.Number,
        failure: Schema.Never,
        maxAttempts: 3,
        lease: "3 seconds"
      })
      // each acknowledgement fails after a second, as one waiting out a connect timeout would
      const unwritable = Layer.effect(
        Durable.Store,
        Effect.map(Durable.Store, (store): Durable.Store["Type"] => ({
          ...store,
          settle: () =>
            Effect.zipRight(
              Effect.sleep("1 second"),
              Effect.fail(new Durable.StoreError({ message: "connect timeout", cause: undefined }))
            )
        }))
      ).pipe(Layer.provide(Durable.layerMemory))
      yield* Effect.gen(function*() {
        const producer = yield* Durable.producer(leased)
        const ran = yield* Deferred.make<void>()
        yield* producer.offer(1)
        const consumer = yield* Durable.consumer({
          queue: leased,
          workers: 1,
          timeout: "10 seconds",
          handler: (n) => Effect.as(Deferred.succeed(ran, undefined), n)
        })
        yield* drive(Deferred.await(ran))
        const from = yield* Clock.currentTimeMillis
        yield* drive(consumer.shutdown)
        // the lease (3 s), plus the try under way when the stop began and the last one begun
        // inside the lease (1.1 s each, its pause included): 4.4 s; 20 tries took 23 s
        expect((yield* Clock.currentTimeMillis) - from).toBeLessThanOrEqual(5000)
      }).pipe(Effect.scoped, Effect.provide(unwritable))
    }))
})

describe("Durable consumer: whose interruption spends an attempt (TestClock)", () => {
  it.effect("a stop gives back the attempts of the jobs it interrupts; a handler that interrupts itself spends its own", () =>
    Effect.gen(function*() {
      const once = yield* Durable.producer(Once)
      const [deployed, selfInterrupted] = yield* once.offerAll([1, 2])
      const started = yield* Deferred.make<void>()
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Durable.consumer({
          queue: Once,
          workers: 1,
          prefetch: 0,
          timeout: "1 minute",
          handler: () => Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)
        })
        yield* Deferred.await(started)
      }))
      expect(yield* once.status(deployed)).toMatchObject({ state: "queued", attempts: 0 })
      expect(yield* once.status(selfInterrupted)).toMatchObject({ state: "queued", attempts: 0 })
      const ran: Array<readonly [number, number]> = []
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Durable.consumer({
          queue: Once,
          workers: 1,
          timeout: "1 minute",
          handler: (n, ctx) =>
            Effect.zipRight(
              Effect.sync(() => ran.push([n, ctx.attempt])),
              n === 2 ? Effect.interrupt : Effect.succeed(n)
            )
        })
        // no process died and no stop came: the self-interrupted delivery counts, and with no
        // attempt left the next claim makes the job a dead letter instead of running it again
        expect(yield* drive(once.await(selfInterrupted))).toMatchObject({ state: "dead", attempts: 1 })
        expect(yield* drive(once.await(deployed))).toMatchObject({ state: "succeeded", attempts: 1, result: 1 })
      }))
      expect(ran).toEqual([[1, 1], [2, 1]])
    }).pipe(Effect.provide(Durable.layerMemory)))
})

describe("Durable consumer: a lease lost to another consumer (TestClock)", () => {
  it.effect("a renewal that does not return a running job drops it locally and interrupts its handler", () =>
    Effect.gen(function*() {
      // The store grants this consumer's first lease a tenth of what it asked for (a stalled
      // connection, a clock that jumped): the store's lease runs out long before the local
      // deadline, so only the renewal can tell that the job went to someone else.
      const shortFirstLease = Layer.effect(
        Durable.Store,
        Effect.map(Durable.Store, (store): Durable.Store["Type"] => ({
          ...store,
          claim: (queue, owner, limit, lease) =>
            store.claim(queue, owner, limit, owner === "other" ? lease : lease / 10)
        }))
      ).pipe(Layer.provide(Durable.layerMemory))
      yield* Effect.gen(function*() {
        const store = yield* Durable.Store
        const emails = yield* Durable.producer(Emails)
        const id = yield* emails.offer({ to: "lost" })
        const started = yield* Deferred.make<number>()
        const interrupted = yield* Deferred.make<number>()
        const consumer = yield* Durable.consumer({
          queue: Emails,
          workers: 1,
          // its only worker busy and nothing prefetched, it claims nothing while the job runs
          prefetch: 0,
          timeout: "1 minute",
          handler: () =>
            Effect.zipRight(
              Effect.flatMap(Clock.currentTimeMillis, (now) => Deferred.succeed(started, now)),
              Effect.never
            ).pipe(
              Effect.onInterrupt(() =>
                Effect.flatMap(Clock.currentTimeMillis, (now) => Deferred.succeed(interrupted, now))
              )
            )
        })
        const startedAt = yield* Deferred.await(started)
        // the store's lease (60 ms) is over: another consumer takes delivery 2
        yield* TestClock.adjust("100 millis")
        expect(yield* store.claim("emails", "other", 1, 60_000)).toEqual([
          { id, payload: "{\"to\":\"lost\"}", attempts: 2, maxAttempts: 3 }
        ])
        // the next renewal (lease/3 = 200 ms after the claim) does not return it: interrupted
        // then, not at the local deadline (600 ms)
        const interruptedAt = yield* drive(Deferred.await(interrupted))
        expect(interruptedAt - startedAt).toBe(200)
        yield* eventually(consumer.stats, (stats) => stats.held === 0)
        expect(yield* consumer.stats).toMatchObject({ dropped: 1, fenced: 0, succeeded: 0, running: 0 })
        // the new owner's completion is the one record
        expect(
          yield* store.settle("emails", "other", [{
            id,
            attempts: 2,
            status: 1,
            delayMillis: 0,
            refund: false,
            result: "\"by other\"",
            error: null
          }])
        ).toEqual([id])
        expect(yield* emails.status(id)).toMatchObject({ state: "succeeded", attempts: 2, result: "by other" })
      }).pipe(Effect.scoped, Effect.provide(shortFirstLease))
    }))
})

describe("Durable consumer: its own job claimed again (TestClock)", () => {
  it.effect("a claim that returns a job this consumer still runs ends the older delivery there at once", () =>
    Effect.gen(function*() {
      // the store grants the first lease a tenth of what was asked for: it runs out while the
      // consumer still runs the job, and the consumer's own next claim gets the job again
      const shortFirstLease = Layer.effect(
        Durable.Store,
        Effect.map(Durable.Store, (store): Durable.Store["Type"] => {
          let first = true
          return {
            ...store,
            claim: (queue, owner, limit, lease) =>
              Effect.suspend(() => {
                const granted = first ? lease / 10 : lease
                return Effect.tap(store.claim(queue, owner, limit, granted), (jobs) => {
                  if (jobs.length > 0) first = false
                })
              })
          }
        })
      ).pipe(Layer.provide(Durable.layerMemory))
      yield* Effect.gen(function*() {
        const emails = yield* Durable.producer(Emails)
        const id = yield* emails.offer({ to: "again" })
        const events: Array<string> = []
        const record = (event: string) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => events.push(`${now} ${event}`)))
        const consumer = yield* Durable.consumer({
          queue: Emails,
          workers: 1,
          prefetch: 1,
          timeout: "1 minute",
          handler: (_, ctx) =>
            Effect.zipRight(
              record(`start ${ctx.attempt}`),
              ctx.attempt === 1 ? Effect.never : Effect.as(Effect.sleep("50 millis"), "second")
            ).pipe(Effect.onInterrupt(() => record(`interrupted ${ctx.attempt}`)))
        })
        const info = yield* drive(emails.await(id))
        expect(info).toMatchObject({ state: "succeeded", attempts: 2, result: "second" })
        // the lease of 60 ms is past at 61: the claim at 61 takes delivery 2 and ends delivery 1
        expect(events).toEqual(["0 start 1", "61 interrupted 1", "61 start 2"])
        yield* eventually(consumer.stats, (stats) => stats.held === 0)
        expect(yield* consumer.stats).toMatchObject({ claimed: 2, dropped: 1, succeeded: 1, fenced: 0 })
      }).pipe(Effect.scoped, Effect.provide(shortFirstLease))
    }))
})

describe("Durable consumer: timeouts are counted (TestClock)", () => {
  // renewed every second: a cancel reaches a running job within one
  const Jobs = Durable.queue("timeouts", {
    task: Schema.String,
    success: Schema.String,
    failure: Bounced,
    maxAttempts: 3,
    lease: "3 seconds"
  })
  let names = 0
  /** the consumer's supervisor's name: its metrics are global, so one per test */
  const fresh = () => `durable-timeouts-${names++}`
  /** a counter of the consumer's supervisor, as Effect's metric registry has it */
  const counter = (supervisor: string, name: string) =>
    Effect.map(Metric.snapshot, (pairs) => {
      const pair = pairs.find((pair) =>
        pair.metricKey.name === name &&
        pair.metricKey.tags.some((tag) => tag.key === "supervisor" && tag.value === supervisor)
      )
      return pair !== undefined && MetricState.isCounterState(pair.metricState) ? pair.metricState.count : undefined
    })
  const settled = (consumer: Durable.Consumer) =>
    drive(Effect.repeat(consumer.stats, { until: (stats) => stats.held === 0, schedule: Schedule.spaced("10 millis") }))

  it.effect("each delivery past timeout counts once: maxAttempts 3 of a handler that never ends is 3 timeouts, then dead", () =>
    Effect.gen(function*() {
      const name = fresh()
      const jobs = yield* Durable.producer(Jobs)
      const id = yield* jobs.offer("stuck")
      const seen: Array<unknown> = []
      const starts: Array<number> = []
      const consumer = yield* Supervisor.make({
        queue: Jobs,
        name,
        workers: 1,
        timeout: "1 second",
        // what the schedule is fed: the same typed error as the in-memory path
        retry: Schedule.tapInput(Schedule.spaced("100 millis"), (error) => Effect.sync(() => seen.push(error))),
        handler: () =>
          Effect.zipRight(
            Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => starts.push(now))),
            Effect.never
          )
      })
      expect(yield* drive(jobs.await(id))).toMatchObject({ state: "dead", attempts: 3, lastError: { _tag: "Timeout" } })
      yield* settled(consumer)
      expect(yield* consumer.stats).toMatchObject({ timeouts: 3, retried: 2, dead: 1, succeeded: 0, handedBack: 0 })
      expect(yield* counter(name, "supervisor_tasks_timeouts")).toBe(3)
      expect(yield* counter(name, "supervisor_tasks_failed")).toBe(3)
      expect(starts.length).toBe(3)
      expect(seen.length).toBeGreaterThan(0)
      for (const error of seen) {
        expect(error).toBeInstanceOf(Errors.TaskTimeout)
        expect(error).toMatchObject({ _tag: "TaskTimeout", task: "stuck" })
        expect((error as Errors.TaskTimeout).message).toBe("task timed out after Duration(1s)")
      }
    }).pipe(Effect.scoped, Effect.provide(Durable.layerMemory)))

  it.effect("jobs that succeed (at once or after a wait) or fail with a typed error count no timeout", () =>
    Effect.gen(function*() {
      const name = fresh()
      const jobs = yield* Durable.producer(Jobs)
      const ids = yield* jobs.offerAll(["fast", "waits", "bounces"])
      const consumer = yield* Durable.consumer({
        queue: Jobs,
        name,
        workers: 3,
        timeout: "1 second",
        handler: (task) =>
          task === "fast"
            ? Effect.succeed(task)
            : task === "waits"
            ? Effect.as(Effect.sleep("900 millis"), task)
            : Effect.fail(new Bounced({ to: task }))
      })
      const infos = yield* drive(Effect.forEach(ids, (id) => jobs.await(id)))
      expect(infos.map((info) => info.state)).toEqual(["succeeded", "succeeded", "dead"])
      yield* settled(consumer)
      expect(yield* consumer.stats).toMatchObject({ timeouts: 0, succeeded: 2, dead: 1 })
      expect(yield* counter(name, "supervisor_tasks_timeouts")).toBe(0)
      expect(yield* counter(name, "supervisor_tasks_succeeded")).toBe(2)
    }).pipe(Effect.scoped, Effect.provide(Durable.layerMemory)))

  it.effect("timeouts of several jobs, some retried to success, count one per timed-out delivery", () =>
    Effect.gen(function*() {
      const name = fresh()
      const jobs = yield* Durable.producer(Jobs)
      // "once" times out on delivery 1, "twice" on 1 and 2; each succeeds on the next
      const ids = yield* jobs.offerAll(["once", "fast", "twice"])
      const consumer = yield* Durable.consumer({
        queue: Jobs,
        name,
        workers: 2,
        timeout: "1 second",
        retry: Schedule.spaced("100 millis"),
        handler: (task, ctx) =>
          (task === "once" && ctx.attempt === 1) || (task === "twice" && ctx.attempt <= 2)
            ? Effect.never
            : Effect.succeed(`${task} ${ctx.attempt}`)
      })
      const infos = yield* drive(Effect.forEach(ids, (id) => jobs.await(id)))
      expect(infos.map((info) => info.result)).toEqual(["once 2", "fast 1", "twice 3"])
      yield* settled(consumer)
      expect(yield* consumer.stats).toMatchObject({ timeouts: 3, retried: 3, succeeded: 3, dead: 0 })
      expect(yield* counter(name, "supervisor_tasks_timeouts")).toBe(3)
    }).pipe(Effect.scoped, Effect.provide(Durable.layerMemory)))

  it.effect("an overrun is one Timeout whatever the handler does after: succeeds late, fails late, dies stopping", () =>
    Effect.gen(function*() {
      const name = fresh()
      // each ignores or outlives the interruption its timeout (1 s) sends
      const overrun = (task: string): Effect.Effect<string, Bounced> =>
        task === "succeeds late"
          ? Effect.uninterruptible(Effect.as(Effect.sleep("1500 millis"), task))
          : task === "fails late"
          ? Effect.uninterruptible(Effect.zipRight(Effect.sleep("1500 millis"), Effect.fail(new Bounced({ to: task }))))
          : Effect.onInterrupt(Effect.never, () => Effect.die("while stopping"))
      const tasks = ["succeeds late", "fails late", "dies stopping"]
      // the in-memory path, for comparison: each is a TaskTimeout, counted once
      const inMemory = yield* Supervisor.make({ workers: 3, timeout: "1 second", handler: overrun })
      const fiber = yield* Effect.fork(
        Effect.forEach(tasks, (task) => Effect.flip(inMemory.execute(task)), { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("2 seconds")
      for (const error of yield* Fiber.join(fiber)) expect(error).toBeInstanceOf(Errors.TaskTimeout)
      expect(yield* inMemory.stats).toMatchObject({ timeouts: 3, failed: 3, succeeded: 0, defects: 0 })

      const jobs = yield* Durable.producer(Jobs)
      const ids = yield* jobs.offerAll(tasks)
      const consumer = yield* Durable.consumer({ queue: Jobs, name, workers: 3, timeout: "1 second", handler: overrun })
      const infos = yield* drive(Effect.forEach(ids, (id) => jobs.await(id)))
      for (const info of infos) {
        expect(info).toMatchObject({ state: "dead", attempts: 1, lastError: { _tag: "Timeout" } })
        expect(info.result).toBeUndefined()
      }
      yield* settled(consumer)
      expect(yield* consumer.stats).toMatchObject({ timeouts: 3, succeeded: 0, dead: 3 })
      expect(yield* counter(name, "supervisor_tasks_timeouts")).toBe(3)
      expect(yield* counter(name, "supervisor_tasks_defects")).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(Durable.layerMemory)))

  /** a handler whose interruption takes 2 s: a timeout can run out while it runs */
  const slowToStop = () => Effect.never.pipe(Effect.onInterrupt(() => Effect.sleep("2 seconds")))

  it.effect("a job cancelled before its timeout counts none, though its interruption runs past it", () =>
    Effect.gen(function*() {
      const name = fresh()
      const jobs = yield* Durable.producer(Jobs)
      const id = yield* jobs.offer("cancelled")
      const started = yield* Deferred.make<void>()
      const consumer = yield* Durable.consumer({
        queue: Jobs,
        name,
        workers: 1,
        timeout: "1500 millis",
        handler: () => Effect.zipRight(Deferred.succeed(started, undefined), slowToStop())
      })
      yield* Deferred.await(started)
      expect(yield* jobs.cancel(id)).toBe(true)
      // the renewal at 1 s does not return it: interrupted then; its timeout (1.5 s) runs out
      // while its finalizer runs (until 3 s)
      yield* settled(consumer)
      expect(yield* TestClock.currentTimeMillis).toBeGreaterThanOrEqual(3000)
      expect(yield* consumer.stats).toMatchObject({ timeouts: 0, dropped: 1, dead: 0, fenced: 0 })
      expect(yield* jobs.status(id)).toMatchObject({ state: "cancelled" })
      expect(yield* counter(name, "supervisor_tasks_timeouts")).toBe(0)
      expect(yield* counter(name, "supervisor_tasks_failed")).toBe(0)
      expect(yield* counter(name, "supervisor_tasks_interrupted")).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(Durable.layerMemory)))

  it.effect("a job a stop hands back counts none, though its timeout had run out while it was stopping", () =>
    Effect.gen(function*() {
      const name = fresh()
      const jobs = yield* Durable.producer(Jobs)
      const id = yield* jobs.offer("handed back")
      const consumer = yield* Durable.consumer({
        queue: Jobs,
        name,
        workers: 1,
        timeout: "1 second",
        handler: slowToStop
      })
      // the timeout ran out at 1 s; the job's interruption runs until 3 s
      yield* TestClock.adjust("1500 millis")
      // asserted after the stop: a failure here would leave the finalizer waiting on the TestClock
      const midway = yield* consumer.stats
      // the stop interrupts its worker: the delivery is handed back, its attempt returned
      const stats = yield* drive(consumer.shutdownNow)
      expect(midway).toMatchObject({ running: 1, timeouts: 0 })
      expect(stats).toMatchObject({ timeouts: 0, handedBack: 1, dead: 0, retried: 0, held: 0 })
      expect(yield* jobs.status(id)).toMatchObject({ state: "queued", attempts: 0 })
      expect(yield* counter(name, "supervisor_tasks_timeouts")).toBe(0)
      expect(yield* counter(name, "supervisor_tasks_failed")).toBe(0)
      expect(yield* counter(name, "supervisor_tasks_interrupted")).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(Durable.layerMemory)))
})

describe("Durable consumer: key and perKey (TestClock)", () => {
  const tenantOptions = {
    task: Schema.Struct({ tenant: Schema.String, n: Schema.Number }),
    success: Schema.Void,
    failure: Schema.Never,
    maxAttempts: 3,
    lease: "1 minute"
  } as const
  const Tenants = Durable.queue("tenants", { ...tenantOptions, key: (task) => task.tenant })
  const Unkeyed = Durable.queue("unkeyed", tenantOptions)
  const tasks = [["a", 1], ["a", 2], ["a", 3], ["b", 1], ["b", 2]].map(([tenant, n]) => ({
    tenant: tenant as string,
    n: n as number
  }))

  const runOrder = (queue: typeof Tenants, key?: (task: { readonly tenant: string }) => string) =>
    Effect.gen(function*() {
      const producer = yield* Durable.producer(queue)
      const ids = yield* producer.offerAll(tasks)
      const order: Array<string> = []
      yield* Durable.consumer({
        queue,
        workers: 1,
        prefetch: 10,
        timeout: "1 minute",
        ...(key === undefined ? {} : { key }),
        handler: (task) =>
          Effect.zipRight(Effect.sleep("10 millis"), Effect.sync(() => order.push(`${task.tenant}${task.n}`)))
      })
      yield* drive(Effect.forEach(ids, (id) => producer.await(id)))
      return order
    }).pipe(Effect.scoped, Effect.provide(Durable.layerMemory))

  it.effect("the queue's key: the held jobs' keys are served round-robin", () =>
    Effect.map(runOrder(Tenants), (order) => expect(order).toEqual(["a1", "b1", "a2", "b2", "a3"])))

  it.effect("the consumer's key overrides the queue's (none here: first in, first out without it)", () =>
    Effect.gen(function*() {
      expect(yield* runOrder(Unkeyed)).toEqual(["a1", "a2", "a3", "b1", "b2"])
      expect(yield* runOrder(Unkeyed, (task) => task.tenant)).toEqual(["a1", "b1", "a2", "b2", "a3"])
    }))

  it.effect("perKey bounds the jobs of one key running at once", () =>
    Effect.gen(function*() {
      const producer = yield* Durable.producer(Tenants)
      const ids = yield* producer.offerAll([...tasks, { tenant: "b", n: 3 }])
      const running = new Map<string, number>()
      const most = new Map<string, number>()
      let total = 0
      let mostTotal = 0
      yield* Durable.consumer({
        queue: Tenants,
        workers: 4,
        perKey: 1,
        timeout: "1 minute",
        handler: (task) =>
          Effect.acquireUseRelease(
            Effect.sync(() => {
              running.set(task.tenant, (running.get(task.tenant) ?? 0) + 1)
              most.set(task.tenant, Math.max(most.get(task.tenant) ?? 0, running.get(task.tenant)!))
              mostTotal = Math.max(mostTotal, ++total)
            }),
            () => Effect.sleep("100 millis"),
            () => Effect.sync(() => (running.set(task.tenant, running.get(task.tenant)! - 1), total--))
          )
      })
      const done = yield* drive(Effect.forEach(ids, (id) => producer.await(id)))
      expect(done.every((info) => info.state === "succeeded")).toBe(true)
      expect(Object.fromEntries(most)).toEqual({ a: 1, b: 1 })
      expect(mostTotal).toBe(2)
    }).pipe(Effect.scoped, Effect.provide(Durable.layerMemory)))
})

describe("Durable consumer: wake-ups from another process", () => {
  // a lease and a poll far beyond the bounds below: only a wake-up gets a job run in time
  const Slow = Durable.queue("wake", {
    task: Schema.String,
    success: Schema.String,
    failure: Schema.Never,
    maxAttempts: 3,
    lease: "30 seconds"
  })
  const dir = tempDir()
  const tables: Array<string> = []
  afterAll(async () => {
    removeDir(dir)
    await dropPgTables(tables)
  })
  const listeners = (table: string) =>
    Effect.promise(async () => {
      const client = new pg.Client({ connectionString: pgUrl })
      await client.connect()
      try {
        const rows = await client.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = $1", [
          `LISTEN "${table}"`
        ])
        return rows.rows[0].n as number
      } finally {
        await client.end()
      }
    })
  const cases = [
    {
      name: "sqlite (PRAGMA data_version)",
      where: () => join(dir, `${uniqueTable("wake")}.db`),
      store: (file: string) => Durable.layerSqlite({ file }),
      // real time: the watcher's first read of data_version (at once, then every 20 ms) must
      // come before the other connection's commit; nothing observable says when it happened
      listening: (_: string) => Effect.sleep("500 millis")
    },
    {
      name: "pg (LISTEN/NOTIFY)",
      where: () => {
        const table = uniqueTable("durable_wake")
        tables.push(table)
        return table
      },
      store: (table: string) => Durable.layerPg({ url: pgUrl, table }),
      // one LISTEN session per store: the holder's and the idle consumer's
      listening: (table: string) => eventually(listeners(table), (n) => n === 2)
    }
  ]
  for (const backend of cases) {
    it.live(
      `${backend.name}: an idle consumer runs jobs handed back or offered elsewhere at once, not at its poll`,
      () =>
        Effect.gen(function*() {
          const where = backend.where()
          // two stores over one file/table: two processes' worth of connections and wake-ups
          const here = yield* Layer.build(backend.store(where))
          const elsewhere = yield* Layer.build(backend.store(where))
          const producer = yield* Effect.provide(Durable.producer(Slow), elsewhere)
          const ids = yield* producer.offerAll(["a", "b", "c"])
          const holder = yield* Effect.provide(
            Durable.consumer({
              queue: Slow,
              workers: 1,
              prefetch: 5,
              timeout: "1 minute",
              handler: () => Effect.never
            }),
            elsewhere
          )
          yield* eventually(holder.stats, (stats) => stats.held === 3)
          yield* Effect.provide(
            Durable.consumer({
              queue: Slow,
              workers: 2,
              timeout: "5 seconds",
              pollInterval: "30 seconds",
              handler: (task) => Effect.succeed(`ran ${task}`)
            }),
            here
          )
          yield* backend.listening(where)
          const bounded = <A, E>(effect: Effect.Effect<A, E>, what: string) =>
            Effect.timeoutFail(effect, { duration: "5 seconds", onTimeout: () => new Error(`no wake-up for ${what}`) })
          yield* holder.shutdownNow
          const handedBack = yield* bounded(Effect.forEach(ids, (id) => producer.await(id)), "the hand back")
          expect(handedBack.map((info) => info.result)).toEqual(["ran a", "ran b", "ran c"])
          const id = yield* producer.offer("d")
          expect((yield* bounded(producer.await(id), "the offer")).result).toBe("ran d")
        }).pipe(Effect.scoped),
      20_000
    )
  }
})
