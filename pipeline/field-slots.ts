// The mapped columns of a plan as the record loops walk them: in field order, each with its
// type's index, digest schema and normalizer resolved once per batch.
import { ID_TYPES, ID_TYPE_SCHEMA, type ColumnPlan, type IdType } from './protocol.js'
import type { Normalizer } from './normalize.js'

export interface FieldSlot { index: number, key: string, name: string, type: IdType, typeIndex: number, schema: number, normalize: Normalizer }

export function fieldSlots (plan: ColumnPlan, normalizers: Readonly<Record<IdType, Normalizer>>): FieldSlot[] {
  return plan.fields
    .map(f => ({ ...f, typeIndex: ID_TYPES.indexOf(f.type), schema: ID_TYPE_SCHEMA[f.type], normalize: normalizers[f.type] }))
    .sort((a, b) => a.index - b.index)
}
