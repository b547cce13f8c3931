// Words a clerk reads for machine names. Presentation only: no rule lives here.
export const ROLES = {
  clerk: '信访室', investigator: '承办人', reviewer: '审理室', leader: '分管领导',
  supervisor: '案件监督管理室', auditor: '审计', analyst: '数据分析', accountability: '党风政风监督室',
  director: '室主任', secretary: '主要负责人', admin: '系统管理员',
}

// What a partner department's or a system's client may be granted (intake's SCOPE_LABELS);
// ``feeds:<类别>`` besides, for analysis's data feeds.
export const SCOPES = {
  'clue:transfer': '移送线索', 'source:inspection': '巡察移交', 'findings:report': '报送巡察发现',
  'hotline:orders': '推送12345工单', 'events:read': '订阅事件',
}
export const CLIENT_KINDS = { partner: '合作单位', system: '系统' }

// The left menu: each page with the roles whose API answers it (the API stays the judge).
export const MENU = [
  { path: '/', title: '工作台', icon: 'HomeFilled', roles: null },
  { path: '/clues', title: '线索台账', roles: ['clerk', 'supervisor', 'investigator', 'leader', 'auditor'] },
  { path: '/cases', title: '案件', roles: ['investigator', 'reviewer', 'leader', 'supervisor', 'auditor', 'director', 'secretary'] },
  { path: '/alerts', title: '预警看板', roles: ['clerk', 'supervisor', 'investigator', 'analyst', 'leader', 'auditor'] },
  { path: '/ratings', title: '红黄绿', roles: ['accountability', 'supervisor', 'leader', 'director', 'secretary', 'auditor'] },
  { path: '/statistics', title: '统计', roles: ['accountability', 'supervisor', 'leader', 'director', 'secretary', 'auditor'] },
  { path: '/inquiries', title: '一案双查', roles: ['accountability', 'supervisor', 'leader', 'director', 'secretary', 'auditor'] },
  { path: '/rectification', title: '整改台账', roles: ['accountability', 'supervisor', 'leader', 'director', 'secretary', 'auditor'] },
  { path: '/appraisals', title: '考核评价', roles: ['accountability', 'supervisor', 'leader', 'director', 'secretary', 'auditor'] },
  { path: '/integrity', title: '廉政档案', roles: ['accountability', 'director', 'leader', 'secretary', 'auditor'] },
  { path: '/analysis-reports', title: '分析报告', roles: ['accountability', 'supervisor', 'leader', 'director', 'secretary', 'auditor'] },
  { path: '/suggestions', title: '纪检监察建议', roles: ['accountability', 'supervisor', 'leader', 'director', 'secretary', 'auditor'] },
  { path: '/typical-cases', title: '典型案例', roles: ['accountability', 'supervisor', 'leader', 'director', 'secretary', 'auditor'] },
  { path: '/bulletins', title: '廉情通报', roles: ['accountability', 'supervisor', 'leader', 'director', 'secretary', 'auditor'] },
  { path: '/system', title: '系统', roles: null },
]

export function menuFor(roles) {
  return MENU.filter((m) => !m.roles || m.roles.some((r) => roles.includes(r)))
}

export const COMMANDS = {
  register: '登记', forward: '转办', assign: '批办', dispose: '线索处置', record_reply: '登记函询回复', evaluate_reply: '评估回复',
  conclude_verification: '初核结论', resume: '恢复处置', file_case: '立案', start_investigation: '开始审查调查',
  extend_investigation: '延长审查调查', answer_checklist: '七必问', find_unfounded: '反映不实',
  transfer_for_review: '移送审理', extend_review: '延长审理', review_opinion: '审理意见', decide: '作出处理决定', appeal: '申诉',
  decide_appeal: '申诉决定', start_execution: '开始执行', complete_execution: '执行完毕',
  record_visit: '回访教育', close_case: '销号', clear_name: '澄清正名', transfer_for_prosecution: '移送检察机关审查起诉',
  list_for_supervision: '挂牌督办', report_supervision: '督办报告', assign_task: '清单交办',
  track_task: '跟踪督办', feedback_task: '结果反馈', revisit_task: '回访销号', link_case: '风腐同查关联',
  decide_measure: '问责决定', conclude_inquiry: '问责调查办结', serve: '送达', publish_typical_case: '典型案例通报曝光',
  extend_verification: '延长初步核实', record_feedback: '实名举报结果反馈', note_reporter: '实名举报',
  await_forwarding: '待转办', record_forwarding: '转办', keep_in_jurisdiction: '留本委办理',
  record_taken_up: '提级办理', record_designation: '指定管辖',
  issue_suggestion: '纪检监察建议书', issue_integrity_reply: '党风廉政意见回复', reply_suggestion: '建议书回复',
}

export const FIELDS = {
  reason: '理由', documents: '依据文书', department: '承办部门', officer: '承办人', supervisor: '监督人',
  leader: '包案领导', method: '处置方式', review_on: '复查日期', outcome: '结论', transfer_to: '移送单位',
  case_number: '立案编号', subject: '被审查人', major: '重大案件', misconduct_date: '违纪行为发生日',
  answers: '七必问答复', form: '四种形态', measures: '处理措施', facts: '审理认定的事实', summary: '决定摘要', kind: '申诉类型',
  result: '申诉结果', visited_on: '回访日期', rating: '回访评价', false_accusation: '系诬告',
  body: '督办机关', report_due: '报告期限', item: '清单事项', due: '完成期限',
  other_case_id: '关联案件编号', relation: '关联方式', name: '姓名', unit: '单位', post: '职务',
  rank: '职级', party_member: '党员', finding: '核查结论', notes: '核查说明', case_id: '关联案件', opinion: '审批意见', comment: '意见', session: '会次',
  held_on: '会议日期', attendees: '出席人员', conclusion: '会议结论', conclusion_text: '结论说明', dissent: '不同意见',
  investigation_kind: '案件类别', fed_back_on: '反馈日期', manner: '方式',
  procuratorate: '接收检察机关', transferred_on: '移送日期',
  title: '标题', text: '通报正文', served_on: '送达日期', categories: '问题类别', case_ids: '关联案件', direct_subject: '直接责任人',
  party_id: '责任主体', duty: '职责', fulfilled: '已履行', note: '说明', reasons: '理由', measure: '问责措施', office: '会审部门',
  agreed: '同意', decided_by_body: '决定机关', approved: '批准', document_number: '文号',
  period: '期间', hotline_satisfaction: '12345热线满意度',
}

export const ENUMS = {
  commission: '纪委监委', direct: '直接送达', left: '留置送达', post: '邮寄送达', electronic: '电子送达', entrusted: '委托送达', public_notice: '公告送达',
  talk_or_inquiry: '谈话函询', preliminary_verification: '初步核实', hold: '暂存待查', close: '予以了结',
  clear: '澄清正名', escalate: '转初步核实', propose_filing: '拟立案', talk_reminder: '谈话提醒',
  criticism_education: '批评教育', ordered_examination: '责令检查', admonition: '诫勉', reinquiry: '再次函询',
  transfer: '移送', reexamination: '复审', recheck: '复核', upheld: '维持', changed: '变更',
  agree: '同意', disagree: '不同意', return: '退回修改',
  confirmed: '属实', false_positive: '不属实（误报）', not_verifiable: '无法核实',
  good: '好', fair: '一般', poor: '较差', conduct_to_corruption: '由风查腐', corruption_to_conduct: '由腐纠风',
  discipline_review: '纪律审查', supervisory_investigation: '监察调查',
  written: '书面', phone: '电话', in_person: '当面', online: '网上', case: '案件', inquiry: '问责调查',
}

const TAG = {
  new: 'info', pending_disposal: 'warning', talk_or_inquiry: 'primary', reply_received: 'primary',
  preliminary_verification: 'primary', on_hold: 'info', proposed_filing: 'warning', filed: 'danger',
  investigation: 'danger', review: 'warning', decided: 'success', appeal: 'warning', execution: 'success',
  follow_up: 'success', clearing: 'success', closed: 'info', prosecuted: 'info', transferred: 'info',
  awaiting_forwarding: 'warning', forwarded: 'info',
}

export function tagType(status) {
  return TAG[status] || 'info'
}

export const LEVELS = { red: { label: '红', tag: 'danger' }, yellow: { label: '黄', tag: 'warning' }, green: { label: '绿', tag: 'success' } }

// A moment in the operator's own time zone (dates without a time are shown as they are).
export function when(value) {
  if (!value) return '—'
  if (!String(value).includes('T')) return value
  const d = new Date(value)
  const p = (n) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`
}

// The service's status labels (casework's Status.label), for filters and the timeline.
export const STATUS = {
  new: '未登记', pending_disposal: '待处置', talk_or_inquiry: '谈话函询', reply_received: '已说明待评估',
  preliminary_verification: '初步核实', on_hold: '暂存待查', proposed_filing: '拟立案', filed: '已立案',
  investigation: '审查调查', review: '审理', decided: '已作出处分/处置决定', appeal: '复审复核', execution: '执行',
  follow_up: '回访教育', clearing: '澄清正名', closed: '已了结/销号', prosecuted: '已移送检察机关审查起诉', transferred: '已移送',
  awaiting_forwarding: '待转办', forwarded: '已转办',
}

export const DEADLINES = {
  clue_disposal: '线索处置', inquiry_reply: '函询回复', reply_report: '回复报告', hold_review: '暂存复查',
  investigation: '审查调查', investigation_extension: '延长审查调查', review: '审理', review_extension: '延长审理',
  reexamination_apply: '复审申请', reexamination: '复审', recheck_apply: '复核申请', recheck: '复核',
  name_clearing: '澄清正名', forwarding: '转办', decision_service: '决定送达', supervision_report: '督办报告',
  preliminary_verification: '初步核实', reporter_feedback: '实名举报结果反馈',
}

// A limit's name; a problem-list item's limit is named by its item (task:<item>).
export function deadlineLabel(key) {
  return key.startsWith('task:') ? `交办事项「${key.slice(5)}」` : DEADLINES[key] || key
}

const EVENTS = {
  clue_registered: '线索登记', clue_disposed: '线索处置', case_filed: '立案', case_decided: '作出决定',
  case_decision_revised: '决定变更', first_form_applied: '第一种形态', case_transferred_for_prosecution: '移送审查起诉', case_closed: '销号', name_cleared: '澄清正名', deadline_overdue: '期限已过',
  case_assigned: '批办', cases_linked: '风腐同查关联', deadline_approaching: '期限临近',
  repeat_report_noted: '重复件并入', repeat_report_split: '重复件拆分', proposal_submitted: '提交审批',
  approval_recorded: '审批签署', meeting_recorded: '会议研究', proposal_returned: '审批退回',
  proposal_resubmitted: '重新提交审批', proposal_withdrawn: '撤回审批', proposal_took_effect: '审批通过生效',
  proposal_overdue: '审批超期', document_issued: '文书制发', document_served: '文书送达',
}

// One timeline entry's heading: the command and the status it led to, else the event.
export function eventTitle(e) {
  const d = e.data || {}
  if (d.command && d.to_status) return `${COMMANDS[d.command] || d.command} → ${STATUS[d.to_status] || d.to_status}`
  const short = String(e.type).split('.').pop()
  return EVENTS[short] || short
}

// 清单交办—跟踪督办—结果反馈—回访销号: a list item's stages (casework's labels).
export const TASKS = { assigned: '已交办', tracking: '跟踪督办', reported: '已反馈结果', closed: '已回访销号' }

export const PROPOSAL_TAG = { open: 'warning', returned: 'danger', withdrawn: 'info', effective: 'success' }

export const APPROVAL_ACTIONS = { approve: '审批', meeting: '会议研究', resubmit: '修改后重新提交', withdraw: '撤回' }

// 一案双查: words for the accountability service's machine names (presentation only).
export const INQUIRY_STATUS = { open: '调查中', concluded: '已办结' }
export const TRIGGERS = { case_form: '案件达到形态', major_case: '重大案件', recurrence: '同类问题反复发生', manual: '人工启动' }
export const MEASURE_STATUS = { proposed: '已提出', in_review: '会审中', decided: '已决定', rejected: '未获批准', review_refused: '会审未通过', in_effect: '已生效' }
export const MEASURE_TAG = { proposed: 'warning', in_review: 'warning', decided: 'primary', rejected: 'info', review_refused: 'danger', in_effect: 'success' }
export const MEASURES = {
  inspection: '检查', circulation: '通报', reorganisation: '改组', admonition: '诫勉', suspension_for_inspection: '停职检查',
  transfer: '调离岗位', ordered_resignation: '责令辞职', demotion: '降职', dismissal: '免职', disciplinary_sanction: '纪律处分',
}
export const OFFICES = { liaison_office: '对口联系室', trial_office: '案件审理室', conduct_office: '党风政风监督室' }
export const PARTY_KIND = { organisation: '党组织', leader: '领导干部' }

// Which roles the accountability API accepts for each action on an inquiry: buttons are
// offered to them only (the API stays the judge, and its refusal is shown).
export const INQUIRY_ROLES = {
  office: ['accountability'],
  review: ['accountability', 'reviewer', 'supervisor'],
  decide: ['accountability', 'supervisor', 'leader', 'director', 'secretary'],
}

// 整改台账 (清单交办—跟踪督办—结果反馈—回访销号): the service's status labels and the words
// of its item commands (route names, as an item's ``allowed_commands`` gives them).
export const RECT_STATUS = { in_progress: '整改中', completed: '待验收', accepted: '已验收待回头看', closed: '已销号' }
export const RECT_TAG = { in_progress: 'warning', completed: 'primary', accepted: 'success', closed: 'info' }
export const RECT_COMMANDS = { progress: '跟踪督办', completion: '结果反馈', acceptance: '验收', review: '回头看' }
export const RECT_SOURCES = { case: '案件', inspection: '巡察', check: '监督检查', alert_pattern: '预警', suggestion: '纪检监察建议书' }

// 考核评价: a grade's colour (its label comes from the service).
export const GRADE_TAG = { excellent: 'success', good: 'primary', pass: 'warning', fail: 'danger' }
export const INTERVIEW_STATUS = { open: '待约谈', held: '已约谈' }
export const SUGGESTION_STATUS = { awaiting_reply: '待回复', replied: '已回复' }
export const ANALYSIS_KINDS = { month: '月度', quarter: '季度', half_year: '半年' }
export const INTEGRITY_ENTRY_STATUS = { in_effect: '影响期内', expired: '影响期已满', no_period: '无影响期', open: '尚在处置', closed: '已处置' }
export const INTEGRITY_ENTRY_TAG = { in_effect: 'danger', open: 'warning', expired: 'info', no_period: 'info', closed: 'success' }

// Which roles the accountability API accepts for its unit-level commands (the API stays the judge).
export const OFFICE_ROLES = ['accountability']
