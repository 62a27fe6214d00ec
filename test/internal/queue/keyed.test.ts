import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Keyed from "../../../src/internal/queue/keyed.js"
import { CLAIMED, type Entry, QUEUED } from "../../../src/internal/queue/taskQueue.js"
import { heapAfterGc, stillReachable } from "../../fixtures/gc.js"
import { entryMaker, ids, markDone, pushAndCancel, type Task, tracking } from "./entries.js"

/** Takes until nothing is ready, finishing each entry at once; returns the keys in claim order. */
const serveAll = (queue: ReturnType<typeof Keyed.make<Task>>): Array<string> => {
  const keys: Array<string> = []
  for (let chunk = queue.take(1); chunk !== undefined; chunk = queue.take(1)) {
    for (const entry of chunk) {
      keys.push(entry.key)
      markDone(entry)
      queue.finished(entry)
    }
  }
  return keys
}

describe("keyed queue", () => {
  it("claims one entry at a time, serving keys round-robin", () => {
    const make = entryMaker()
    const queue = Keyed.make<Task>(Infinity)
    expect(queue.maxChunk).toBe(1)
    for (const key of ["a", "a", "a", "b", "b", "c"]) queue.push(make(key))
    expect(queue.size).toBe(6)
    const first = queue.take(64)!
    expect(first).toHaveLength(1)
    expect(first[0]!.state).toBe(CLAIMED)
    markDone(first[0]!)
    queue.finished(first[0]!)
    expect([first[0]!.key, ...serveAll(queue)]).toEqual(["a", "b", "c", "a", "b", "a"])
    expect(queue.size).toBe(0)
  })

  it("within a key: higher priority first, then submission order", () => {
    const make = entryMaker()
    const queue = Keyed.make<Task>(Infinity)
    const entries = [make("", 0), make("", 2), make("", 1), make("", 2), make("", 0)]
    for (const entry of entries) queue.push(entry)
    const order: Array<number> = []
    for (let chunk = queue.take(1); chunk !== undefined; chunk = queue.take(1)) order.push(chunk[0]!.task.id)
    expect(order).toEqual([1, 3, 2, 0, 4])
  })

  it("perKey counts claimed and running entries; a handed-back entry frees its place", () => {
    const make = entryMaker()
    const queue = Keyed.make<Task>(2)
    for (let i = 0; i < 4; i++) queue.push(make("a"))
    const one = queue.take(1)!
    const two = queue.take(1)!
    expect(queue.take(1)).toBeUndefined()
    expect(queue.size).toBe(2)
    queue.pushFront(two)
    expect(two[0]!.state).toBe(QUEUED)
    expect(ids(queue.take(1))).toEqual(ids(two))
    expect(queue.take(1)).toBeUndefined()
    markDone(one[0]!)
    queue.finished(one[0]!)
    expect(ids(queue.take(1))).toEqual([2])
  })

  it("a paused key holds its entries back (counted in heldByKeys) and lets other keys run", () => {
    const make = entryMaker()
    const queue = Keyed.make<Task>(Infinity)
    queue.pauseKey("a")
    for (const key of ["a", "a", "b"]) queue.push(make(key))
    expect(queue.heldByKeys()).toBe(2)
    expect(serveAll(queue)).toEqual(["b"])
    expect(queue.size).toBe(2)
    queue.resumeKey("a")
    expect(queue.heldByKeys()).toBe(0)
    expect(serveAll(queue)).toEqual(["a", "a"])
  })

  it("never returns a cancelled entry", () => {
    const make = entryMaker()
    const queue = Keyed.make<Task>(Infinity)
    const entries = ["a", "a", "b", "c"].map((key) => make(key))
    for (const entry of entries) queue.push(entry)
    for (const entry of [entries[0]!, entries[3]!]) {
      markDone(entry)
      queue.cancel(entry)
    }
    expect(queue.size).toBe(2)
    const order: Array<number> = []
    for (let chunk = queue.take(1); chunk !== undefined; chunk = queue.take(1)) order.push(chunk[0]!.task.id)
    expect(order).toEqual([1, 2])
  })

  it("evictOldest removes the oldest waiting entry across keys, paused ones included", () => {
    const make = entryMaker()
    const queue = Keyed.make<Task>(Infinity)
    const entries = [make("b"), make("a", 5), make("a")]
    queue.pauseKey("b")
    for (const entry of entries) queue.push(entry)
    expect(queue.evictOldest()).toBe(entries[0])
    markDone(entries[0]!)
    expect(queue.heldByKeys()).toBe(0)
    expect(queue.evictOldest()).toBe(entries[1])
    expect(queue.size).toBe(1)
  })

  it("evictOldest passes over a started entry", () => {
    const make = entryMaker()
    const queue = Keyed.make<Task>(Infinity)
    const entries = [make("a"), make("b"), make("a")]
    entries[0]!.started = true // its handler ran in `execute`'s caller, and its worker handed it back
    for (const entry of entries) queue.push(entry)
    expect(queue.evictOldest()).toBe(entries[1])
    markDone(entries[1]!)
    expect(queue.evictOldest()).toBe(entries[2])
    markDone(entries[2]!)
    expect(queue.evictOldest()).toBeUndefined()
    expect(ids(queue.take(1))).toEqual([0])
  })

  it("drain returns every waiting entry in submission order", () => {
    const make = entryMaker()
    const queue = Keyed.make<Task>(Infinity)
    for (const [key, priority] of [["b", 0], ["a", 9], ["b", 3], ["c", 0]] as const) queue.push(make(key, priority))
    queue.pauseKey("c")
    expect(ids(queue.drain())).toEqual([0, 1, 2, 3])
    expect(queue.size).toBe(0)
    expect(queue.heldByKeys()).toBe(0)
    expect(queue.take(1)).toBeUndefined()
  })

  it("a key refilled right after each claim does not starve a key already waiting", () => {
    // a tenant that always has exactly one task waiting (a producer woken by each claim)
    const make = entryMaker()
    const queue = Keyed.make<Task>(Infinity)
    for (const key of ["k", "k", "j"]) queue.push(make(key))
    const served: Array<string> = []
    for (let i = 0; i < 4; i++) {
      const [entry] = queue.take(1)!
      served.push(entry!.key)
      markDone(entry!)
      queue.finished(entry!)
      if (entry!.key === "j") queue.push(make("j"))
    }
    expect(served).toEqual(["k", "j", "k", "j"])
  })

  describe("memory", () => {
    it("endless push + cancel on one key keeps at most 32 cancelled entries reachable", async () => {
      const make = entryMaker()
      const queue = Keyed.make<Task>(Infinity)
      const refs = pushAndCancel(queue, 20_000, (i) => make("a", i % 3))
      expect(queue.size).toBe(0)
      expect(await stillReachable(refs)).toBeLessThanOrEqual(32)
    })

    it("endless push + cancel with a new key each time (tenants, request ids) keeps nothing reachable", async () => {
      const make = entryMaker()
      const queue = Keyed.make<Task>(Infinity)
      const busy = make("busy")
      queue.push(busy)
      const refs = pushAndCancel(queue, 20_000, (i) => make(`tenant-${i}`))
      expect(queue.size).toBe(1)
      expect(await stillReachable(refs)).toBe(0)
      // and the round-robin has nothing else to visit
      expect(ids(queue.take(1))).toEqual(ids([busy]))
      expect(queue.take(1)).toBeUndefined()
    })

    it("\"sliding\" evictions with a new key each time keep only the waiting entries reachable", async () => {
      const make = entryMaker()
      const queue = Keyed.make<Task>(Infinity)
      const refs = tracking(5_000, (i, track) => {
        const entry = make(`tenant-${i}`)
        track(entry)
        if (queue.size >= 4) markDone(queue.evictOldest()!)
        queue.push(entry)
      })
      expect(queue.size).toBe(4)
      expect(await stillReachable(refs)).toBe(4)
    })

    it("keys that come and go leave no bookkeeping behind (100k keys, each cancelled or evicted)", () => {
      const make = entryMaker()
      const queue = Keyed.make<Task>(Infinity)
      const churn = (from: number, count: number) => {
        for (let i = from; i < from + count; i++) {
          const entry = make(`tenant-${i}`)
          queue.push(entry)
          if (i % 2 === 0) {
            markDone(entry)
            queue.cancel(entry)
          } else if (queue.size > 4) {
            markDone(queue.evictOldest()!)
          }
        }
      }
      churn(0, 1_000) // warm up
      const before = heapAfterGc()
      churn(1_000, 100_000)
      const grown = heapAfterGc() - before
      // a key's state, its ring slot and its name are ~150 B: 100k forgotten keys would be ~15 MB
      expect(grown).toBeLessThan(2 * 1024 * 1024)
      expect(queue.size).toBe(4)
    })
  })

  // ---- model-based: random operation sequences against a reference scheduler ----

  /**
   * The reference: `rotation` lists the keys with waiting entries in the order the scheduler
   * looks at them. A take claims the best entry (priority, then seq) of the first key that is
   * neither paused nor at its perKey limit; that key and the ones skipped on the way move
   * behind the rest (round-robin); a key that gets its first waiting entry joins at the back.
   */
  const firstToRun = (a: Entry<Task>, b: Entry<Task>): Entry<Task> =>
    b.priority > a.priority || (b.priority === a.priority && b.seq < a.seq) ? b : a

  class Reference {
    rotation: Array<string> = []
    readonly waiting = new Map<string, Array<Entry<Task>>>()
    readonly active = new Map<string, number>()
    readonly paused = new Set<string>()
    constructor(readonly perKey: number) {}

    get size(): number {
      let size = 0
      for (const entries of this.waiting.values()) size += entries.length
      return size
    }

    get heldByKeys(): number {
      let held = 0
      for (const key of this.paused) held += this.waiting.get(key)?.length ?? 0
      return held
    }

    push(entry: Entry<Task>): void {
      const entries = this.waiting.get(entry.key) ?? []
      if (entries.length === 0) this.rotation.push(entry.key)
      entries.push(entry)
      this.waiting.set(entry.key, entries)
    }

    handBack(entry: Entry<Task>): void {
      this.active.set(entry.key, this.active.get(entry.key)! - 1)
      this.push(entry)
    }

    remove(entry: Entry<Task>): void {
      const entries = this.waiting.get(entry.key)!
      entries.splice(entries.indexOf(entry), 1)
      if (entries.length === 0) this.rotation = this.rotation.filter((key) => key !== entry.key)
    }

    take(): Entry<Task> | undefined {
      const index = this.rotation.findIndex((key) => !this.paused.has(key) && (this.active.get(key) ?? 0) < this.perKey)
      if (index < 0) return undefined
      const key = this.rotation[index]!
      const entries = this.waiting.get(key)!
      const best = entries.reduce(firstToRun)
      entries.splice(entries.indexOf(best), 1)
      this.active.set(key, (this.active.get(key) ?? 0) + 1)
      const rest = [...this.rotation.slice(index + 1), ...this.rotation.slice(0, index)]
      this.rotation = entries.length > 0 ? [...rest, key] : rest
      return best
    }

    oldest(): Entry<Task> | undefined {
      let oldest: Entry<Task> | undefined
      for (const entries of this.waiting.values()) {
        for (const entry of entries) if (oldest === undefined || entry.seq < oldest.seq) oldest = entry
      }
      return oldest
    }

    drain(): Array<Entry<Task>> {
      const all = [...this.waiting.values()].flat().sort((a, b) => a.seq - b.seq)
      this.waiting.clear()
      this.rotation = []
      return all
    }
  }

  const keys = ["a", "b", "c", "d"] as const

  type Op =
    | { readonly op: "push"; readonly key: string; readonly priority: number }
    | { readonly op: "take" }
    | { readonly op: "handBack"; readonly pick: number }
    | { readonly op: "cancelWaiting"; readonly pick: number }
    | { readonly op: "finish"; readonly pick: number }
    | { readonly op: "evictOldest" }
    | { readonly op: "drain" }
    | { readonly op: "pauseKey"; readonly key: string }
    | { readonly op: "resumeKey"; readonly key: string }
    | { readonly op: "resumeAllKeys" }

  const push = (key: string): Op => ({ op: "push", key, priority: 0 })
  const take: Op = { op: "take" }

  const keyArb = fc.constantFrom(...keys)
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        op: fc.constant("push" as const),
        key: keyArb,
        priority: fc.integer({ min: 0, max: 2 })
      })
    },
    { weight: 5, arbitrary: fc.constant({ op: "take" as const }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("handBack" as const), pick: fc.nat() }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("cancelWaiting" as const), pick: fc.nat() }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("finish" as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.constant({ op: "evictOldest" as const }) },
    { weight: 1, arbitrary: fc.constant({ op: "drain" as const }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("pauseKey" as const), key: keyArb }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("resumeKey" as const), key: keyArb }) },
    { weight: 1, arbitrary: fc.constant({ op: "resumeAllKeys" as const }) }
  )

  it("agrees with a reference round-robin scheduler on random sequences of every operation", () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 300 }),
        fc.constantFrom(1, 2, 3, Infinity),
        (ops, perKey) => {
          const make = entryMaker()
          const queue = Keyed.make<Task>(perKey)
          const model = new Reference(perKey)
          /** claimed and not yet ended ("running") */
          const claimed: Array<Entry<Task>> = []
          const waitingList = () => [...model.waiting.values()].flat()
          for (const op of ops) {
            switch (op.op) {
              case "push": {
                const entry = make(op.key, op.priority)
                queue.push(entry)
                model.push(entry)
                break
              }
              case "take": {
                const chunk = queue.take(64)
                const expected = model.take()
                expect(ids(chunk)).toEqual(expected === undefined ? undefined : ids([expected]))
                if (chunk === undefined) break
                const entry = chunk[0]!
                expect(entry.state).toBe(CLAIMED)
                claimed.push(entry)
                expect(claimed.filter((other) => other.key === entry.key).length).toBeLessThanOrEqual(perKey)
                break
              }
              case "handBack": {
                if (claimed.length === 0) break
                const [entry] = claimed.splice(op.pick % claimed.length, 1)
                queue.pushFront([entry!])
                expect(entry!.state).toBe(QUEUED)
                model.handBack(entry!)
                break
              }
              case "cancelWaiting": {
                const waiting = waitingList()
                if (waiting.length === 0) break
                const entry = waiting[op.pick % waiting.length]!
                markDone(entry)
                queue.cancel(entry)
                model.remove(entry)
                break
              }
              case "finish": {
                if (claimed.length === 0) break
                const [entry] = claimed.splice(op.pick % claimed.length, 1)
                markDone(entry!)
                queue.finished(entry!)
                model.active.set(entry!.key, model.active.get(entry!.key)! - 1)
                break
              }
              case "evictOldest": {
                const entry = queue.evictOldest()
                const expected = model.oldest()
                expect(entry).toBe(expected)
                if (entry === undefined) break
                markDone(entry)
                model.remove(entry)
                break
              }
              case "drain": {
                const rest = queue.drain()
                expect(ids(rest)).toEqual(ids(model.drain()))
                for (const entry of rest) markDone(entry)
                break
              }
              case "pauseKey":
                queue.pauseKey(op.key)
                model.paused.add(op.key)
                break
              case "resumeKey":
                queue.resumeKey(op.key)
                model.paused.delete(op.key)
                break
              case "resumeAllKeys":
                queue.resumeAllKeys()
                model.paused.clear()
                break
            }
            expect(queue.size).toBe(model.size)
            expect(queue.heldByKeys()).toBe(model.heldByKeys)
          }
          // whatever is left comes out, and nothing else
          expect(ids(queue.drain())).toEqual(ids(model.drain()))
        }
      ),
      {
        numRuns: 1000,
        examples: [
          // a key that joins goes behind the keys already waiting (here b's second entry)
          [[push("b"), push("b"), take, push("a"), take], 3],
          // a cancel that empties its key takes the key out of the rotation at once
          [[push("a"), { op: "cancelWaiting", pick: 0 }, push("c"), push("a"), take], 1]
        ]
      }
    )
  })
})
