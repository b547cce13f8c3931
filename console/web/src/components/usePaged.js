// Cursor pagination for a list page: first page, next page, with the filters given.
import { ref } from 'vue'
import { get, ProblemError } from '../api.js'

export function usePaged(service, path, filters, size = 20) {
  const rows = ref([])
  const next = ref(null)
  const page = ref(1)
  const loading = ref(false)
  const problem = ref(null)

  async function load(cursor) {
    loading.value = true
    problem.value = null
    try {
      const data = await get(service, path, { ...filters, limit: size, cursor })
      rows.value = data.items
      next.value = data.next_cursor || null
    } catch (e) {
      if (!(e instanceof ProblemError)) throw e
      problem.value = e.problem
      rows.value = []
    } finally {
      loading.value = false
    }
  }
  const first = () => { page.value = 1; return load() }
  const forward = () => { page.value += 1; return load(next.value) }
  return { rows, next, page, loading, problem, first, forward }
}
