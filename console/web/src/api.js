// The one client of the console's BFF: session, CSRF header, If-Match, Idempotency-Key.
import { reactive } from 'vue'

export const session = reactive({ operator: null, csrf: null, checked: false })

export class ProblemError extends Error {
  constructor(status, problem) {
    super(problem?.title || `HTTP ${status}`)
    this.status = status
    this.problem = problem
  }
}

async function parse(response) {
  const type = response.headers.get('content-type') || ''
  if (response.status === 204) return null
  return type.includes('json') ? response.json() : response.text()
}

async function send(method, url, { body, headers = {} } = {}) {
  const h = { Accept: 'application/json', ...headers }
  if (method !== 'GET') h['X-CSRF-Token'] = session.csrf || ''
  if (body !== undefined) h['Content-Type'] = 'application/json'
  const response = await fetch(url, {
    method, headers: h, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const data = await parse(response)
  if (response.status === 401 && session.operator) {
    session.operator = null
    window.dispatchEvent(new CustomEvent('zf-session-expired', { detail: data }))
  }
  if (!response.ok) throw new ProblemError(response.status, data)
  return { data, etag: response.headers.get('etag'), status: response.status }
}

function query(params) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') q.set(k, v)
  const s = q.toString()
  return s ? `?${s}` : ''
}

export async function get(service, path, params) {
  return (await send('GET', `/api/${service}/v1/${path}${query(params)}`)).data
}

export async function getWithEtag(service, path, params) {
  return send('GET', `/api/${service}/v1/${path}${query(params)}`)
}

// A command: the version the operator saw (If-Match) and a key that makes a retry harmless.
export async function command(service, path, body, { ifMatch, key } = {}) {
  const headers = { 'Idempotency-Key': key || newKey() }
  if (ifMatch) headers['If-Match'] = ifMatch
  return send('POST', `/api/${service}/v1/${path}`, { body, headers })
}

export async function login(username, password) {
  const { data } = await send('POST', '/auth/login', { body: { username, password } })
  Object.assign(session, { operator: data.operator, csrf: data.csrf_token, checked: true })
}

export async function restore() {
  try {
    const { data } = await send('GET', '/auth/session')
    Object.assign(session, { operator: data.operator, csrf: data.csrf_token })
  } catch {
    session.operator = null
  }
  session.checked = true
}

// The session as the console keeps it (started, idle timeout, absolute end).
export async function sessionInfo() {
  return (await send('GET', '/auth/session')).data
}

export async function logout() {
  try { await send('POST', '/auth/logout') } finally { session.operator = null; session.csrf = null }
}

export function newKey() {
  const b = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}

// A service's OpenAPI document (cached): command forms are built from it.
const documents = {}
export function openapiOf(service) {
  documents[service] ||= fetch(`/api/${service}/openapi.json`, { credentials: 'same-origin' }).then((r) => {
    if (!r.ok) { delete documents[service]; throw new Error(`openapi ${r.status}`) }
    return r.json()
  })
  return documents[service]
}
