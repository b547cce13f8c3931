// A command's form fields from the service's own OpenAPI document (its request body schema).
// The service stays the judge of what is valid: its problem details fill the field errors.
function deref(doc, s) {
  while (s && s.$ref) s = doc.components.schemas[s.$ref.split('/').pop()]
  if (s && s.anyOf) return { ...deref(doc, s.anyOf.find((x) => x.type !== 'null')), optional: true }
  if (s && s.allOf && s.allOf.length === 1) return deref(doc, s.allOf[0])
  return s || {}
}

const LONG = new Set(['reason', 'summary', 'comment', 'conclusion_text', 'notes', 'note', 'text'])

function kindOf(s) {
  if (s.enum) return 'enum'
  if (s.type === 'boolean') return 'bool'
  if (s.type === 'integer' || s.type === 'number') return 'number'
  if (s.type === 'string' && s.format === 'date') return 'date'
  if (s.type === 'array') return 'list'
  if (s.type === 'object' && s.additionalProperties) return 'map'
  if (s.type === 'object' && s.properties) return 'object'
  return 'text'
}

export function fieldsOf(doc, schema, prefix = '') {
  const s = deref(doc, schema)
  const required = new Set(s.required || [])
  const out = []
  for (const [name, raw] of Object.entries(s.properties || {})) {
    const p = deref(doc, raw)
    const path = prefix ? `${prefix}.${name}` : name
    const kind = kindOf(p)
    if (kind === 'object') out.push(...fieldsOf(doc, p, path))
    else out.push({ path, name, kind, options: p.enum || [], required: required.has(name) && !p.optional, long: LONG.has(name) })
  }
  return out
}

// The request body schema of ``POST template`` (a path as the OpenAPI document names it).
export function bodySchema(doc, template) {
  const op = doc.paths[template]?.post
  return op?.requestBody?.content?.['application/json']?.schema
}

function parse(field, value) {
  if (field.kind === 'list') return String(value).split(/[、,，\n]/).map((x) => x.trim()).filter(Boolean)
  if (field.kind === 'map') {
    return Object.fromEntries(String(value).split('\n').filter((l) => l.trim()).map((l) => l.split(/[：:]/).map((x) => x.trim())))
  }
  return value
}

// The JSON body: empty inputs left out (the service supplies its defaults).
export function bodyOf(fields, values) {
  const body = {}
  for (const f of fields) {
    const v = values[f.path]
    if (v === undefined || v === null || v === '') continue
    const parts = f.path.split('.')
    let at = body
    for (const p of parts.slice(0, -1)) at = at[p] = at[p] || {}
    at[parts.at(-1)] = parse(f, v)
  }
  return body
}

// Form values from a body (the inverse of bodyOf): to amend a returned proposal's command.
export function valuesOf(fields, body) {
  const out = {}
  for (const f of fields) {
    let v = body
    for (const p of f.path.split('.')) v = v == null ? undefined : v[p]
    if (v === undefined || v === null) continue
    if (f.kind === 'list') v = v.join('、')
    else if (f.kind === 'map') v = Object.entries(v).map(([k, x]) => `${k}：${x}`).join('\n')
    out[f.path] = v
  }
  return out
}
