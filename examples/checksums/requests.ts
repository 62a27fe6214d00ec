// The requests the checksums threads serve (imported by both sides).
import * as Schema from "effect/Schema"

/** One file's SHA-256 and size. */
export const Hashed = Schema.TaggedStruct("Hashed", { path: Schema.String, hex: Schema.String, bytes: Schema.Number })

/** The file could not be read (gone, a directory, no permission, …). */
export const Unreadable = Schema.TaggedStruct("Unreadable", { path: Schema.String, message: Schema.String })

/**
 * SHA-256 of a chunk of files, read and hashed on the thread: one message per chunk, not per
 * file, and each file's own result (a file that cannot be read does not fail the others).
 */
export class HashFiles extends Schema.TaggedRequest<HashFiles>()("HashFiles", {
  failure: Schema.Never,
  success: Schema.Array(Schema.Union(Hashed, Unreadable)),
  payload: { paths: Schema.Array(Schema.String) }
}) {}
