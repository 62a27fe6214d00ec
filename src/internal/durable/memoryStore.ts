/**
 * The store of durable queues in memory, on the Effect `Clock`: the same semantics as the SQL
 * store (leases, fencing, dead letters, idempotency), so tests drive leases with `TestClock`.
 * It lives as long as its layer; nothing survives the process.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { ClaimedJob, JobId, Settlement, StoredJob, StoreService } from "./protocol.js"
import { isRowId, Status } from "./protocol.js"

interface Row {
  readonly id: number
  readonly queue: string
  readonly idempotencyKey: string | null
  readonly payload: string
  readonly priority: number
  readonly maxAttempts: number
  readonly createdAt: number
  status: number
  attempts: number
  runAt: number
  leaseUntil: number | null
  leaseOwner: string | null
  finishedAt: number | null
  lastError: string | null
  result: string | null
}

const claimOrder = (a: Row, b: Row) => b.priority - a.priority || a.runAt - b.runAt || a.id - b.id

/** @internal */
export const make: Effect.Effect<StoreService> = Effect.sync(() => {
  const rows = new Map<number, Row>()
  const byKey = new Map<string, number>()
  const signals = new Map<string, Set<() => void>>()
  let nextId = 1
  const signal = (queue: string) => {
    for (const wake of signals.get(queue) ?? []) wake()
  }
  const find = (queue: string, id: JobId) => {
    // the decimal row id only, as the SQL stores read it ("1.0", "01", "0x1" name no job)
    const row = isRowId(id) ? rows.get(Number(id)) : undefined
    return row !== undefined && row.queue === queue ? row : undefined
  }

  const enqueue: StoreService["enqueue"] = (queue, jobs) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      const ids = jobs.map((job) => {
        const keyed = job.idempotencyKey === null ? undefined : `${queue}\u0000${job.idempotencyKey}`
        const existing = keyed === undefined ? undefined : byKey.get(keyed)
        if (existing !== undefined) return String(existing)
        const id = nextId++
        rows.set(id, {
          id,
          queue,
          idempotencyKey: job.idempotencyKey,
          payload: job.payload,
          priority: job.priority,
          maxAttempts: job.maxAttempts,
          createdAt: now,
          status: Status.Ready,
          attempts: 0,
          runAt: job.runAt ?? now + job.delayMillis,
          leaseUntil: null,
          leaseOwner: null,
          finishedAt: null,
          lastError: null,
          result: null
        })
        if (keyed !== undefined) byKey.set(keyed, id)
        return String(id)
      })
      signal(queue)
      return ids
    })

  const claim: StoreService["claim"] = (queue, owner, limit, leaseMillis) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      const due = [...rows.values()].filter((row) =>
        row.queue === queue && row.status === Status.Ready && row.runAt <= now &&
        (row.leaseUntil === null || row.leaseUntil < now)
      ).sort(claimOrder).slice(0, limit)
      const claimed: Array<ClaimedJob> = []
      for (const row of due) {
        if (row.attempts >= row.maxAttempts) {
          row.status = Status.Dead
          row.leaseUntil = null
          row.leaseOwner = null
          row.finishedAt = now
          row.lastError = "{\"_tag\":\"LeaseExpired\"}"
          continue
        }
        row.attempts++
        row.leaseUntil = now + leaseMillis
        row.leaseOwner = owner
        claimed.push({ id: String(row.id), payload: row.payload, attempts: row.attempts, maxAttempts: row.maxAttempts })
      }
      return claimed
    })

  const renew: StoreService["renew"] = (queue, owner, ids, leaseMillis) =>
    Effect.map(Clock.currentTimeMillis, (now) =>
      ids.flatMap((id) => {
        const row = find(queue, id)
        if (row === undefined || row.status !== Status.Ready || row.leaseOwner !== owner) return []
        row.leaseUntil = now + leaseMillis
        return [{ id, attempts: row.attempts }]
      }))

  const settle: StoreService["settle"] = (queue, owner, settlements) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      const won: Array<JobId> = []
      for (const s of settlements) {
        const row = find(queue, s.id)
        if (
          row === undefined || row.status !== Status.Ready || row.leaseOwner !== owner ||
          row.attempts !== s.attempts
        ) continue
        apply(row, s, now)
        won.push(s.id)
        if (s.status === Status.Ready && s.delayMillis === 0) signal(queue)
      }
      return won
    })

  const apply = (row: Row, s: Settlement, now: number) => {
    row.status = s.status
    if (s.refund) row.attempts--
    if (s.status === Status.Ready && !s.refund) row.runAt = now + s.delayMillis
    row.leaseUntil = null
    row.leaseOwner = null
    row.finishedAt = s.status === Status.Ready ? null : now
    row.result = s.result
    if (s.error !== null) row.lastError = s.error
  }

  const get: StoreService["get"] = (queue, id) =>
    Effect.map(Clock.currentTimeMillis, (now): StoredJob | undefined => {
      const row = find(queue, id)
      return row === undefined ? undefined : {
        id: String(row.id),
        status: row.status,
        attempts: row.attempts,
        maxAttempts: row.maxAttempts,
        runAt: row.runAt,
        leaseUntil: row.leaseUntil,
        createdAt: row.createdAt,
        finishedAt: row.finishedAt,
        lastError: row.lastError,
        result: row.result,
        now
      }
    })

  const cancel: StoreService["cancel"] = (queue, id) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      const row = find(queue, id)
      if (row === undefined || row.status !== Status.Ready) return false
      row.status = Status.Cancelled
      row.finishedAt = now
      row.leaseUntil = null
      row.leaseOwner = null
      return true
    })

  const retryDead: StoreService["retryDead"] = (queue, olderThanMillis) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      let count = 0
      for (const row of rows.values()) {
        if (row.queue !== queue || row.status !== Status.Dead || row.finishedAt! > now - olderThanMillis) continue
        row.status = Status.Ready
        row.attempts = 0
        row.runAt = now
        row.finishedAt = null
        count++
      }
      if (count > 0) signal(queue)
      return count
    })

  const cleanup: StoreService["cleanup"] = (queue, retention) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      let count = 0
      for (const row of [...rows.values()]) {
        if (row.queue !== queue || row.finishedAt === null) continue
        const keep = row.status === Status.Ok ? retention.succeededMillis : retention.deadMillis
        if (row.finishedAt > now - keep) continue
        rows.delete(row.id)
        if (row.idempotencyKey !== null) byKey.delete(`${queue}\u0000${row.idempotencyKey}`)
        count++
      }
      return count
    })

  const nextDue: StoreService["nextDue"] = (queue) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      let due: number | undefined
      for (const row of rows.values()) {
        if (row.queue !== queue || row.status !== Status.Ready) continue
        // claimable once the lease is strictly past
        const at = Math.max(row.runAt, row.leaseUntil === null ? 0 : row.leaseUntil + 1)
        if (due === undefined || at < due) due = at
      }
      return due === undefined ? undefined : Math.max(0, due - now)
    })

  const watch: StoreService["watch"] = (queue, wake) =>
    Effect.gen(function*() {
      let set = signals.get(queue)
      if (set === undefined) signals.set(queue, set = new Set())
      set.add(wake)
      yield* Effect.addFinalizer(() => Effect.sync(() => set.delete(wake)))
    })

  return { enqueue, claim, renew, settle, get, cancel, retryDead, cleanup, nextDue, watch }
})
