// Chinese wording for well-known problem types (RFC 9457 `type` slugs). Presentation only:
// the service's own title and detail are always shown beside it.
const KNOWN = {
  'stale-version': '该记录已被他人更新，您提交时依据的版本已过期。已为您载入最新内容，您填写的内容仍保留，请核对后重新提交。',
  'if-match-required': '提交时缺少记录版本号，请刷新页面后重试。',
  'invalid-if-match': '记录版本号无效，请刷新页面后重试。',
  forbidden: '您的角色或承办关系不允许此操作。',
  'forbidden-role': '您的角色无权访问此功能。',
  'validation-error': '填写内容有误，请按字段提示修改。',
  'illegal-transition': '案件当前状态下不能执行此操作。',
  'not-found': '未找到该记录（可能尚未同步，请稍后刷新）。',
  'personal-data-not-allowed': '您的角色不能查看未脱敏的个人信息。',
  'purpose-required': '查看未脱敏信息须填写查看用途。',
  'session-expired': '登录已失效，请重新登录。',
  'csrf-rejected': '安全校验未通过（CSRF），请刷新页面后重试。',
  'login-failed': '账号或密码不正确。',
  'service-unreachable': '后台服务暂不可用，请稍后再试。',
  unauthenticated: '登录已失效，请重新登录。',
  'token-expired': '登录已失效，请重新登录。',
  'invalid-resident-id': '身份证号码有误（校验位或出生日期不对），请核对后重新填写。',
  'date-order': '起止日期先后颠倒，请核对。',
  'period-not-ended': '该期间尚未结束，期满后才能办理。',
  'nul-character': '填写内容含有不可见的控制字符，请删除后重新提交。',
  'sealed-data-unopenable': '该内容的封存信息无法解封（可能已损坏或不属于本事项），请联系系统管理员核查。',
}

export function slugOf(problem) {
  return String(problem?.type || '').split('/').pop()
}

// What a clerk reads for a problem: the Chinese message, the service's title and detail.
export function describe(problem) {
  const known = KNOWN[slugOf(problem)]
  const original = [problem?.title, problem?.detail].filter(Boolean).join('：')
  return { message: known || problem?.title || '操作未成功', original: known ? original : problem?.detail || '' }
}

// Field errors by field name, for el-form's error slots.
export function fieldErrors(problem) {
  const out = {}
  for (const e of problem?.errors || []) out[e.field] = e.reason
  return out
}
