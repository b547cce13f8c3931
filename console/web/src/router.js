import { createRouter, createWebHistory } from 'vue-router'
import { session, restore } from './api.js'

const routes = [
  { path: '/login', component: () => import('./views/LoginPage.vue'), meta: { title: '登录', public: true } },
  { path: '/', component: () => import('./views/WorkbenchPage.vue'), meta: { title: '工作台' } },
  { path: '/clues', component: () => import('./views/ClueDesk.vue'), meta: { title: '线索台账' } },
  { path: '/cases', component: () => import('./views/CaseList.vue'), meta: { title: '案件' } },
  { path: '/cases/:id', component: () => import('./views/CaseDetail.vue'), meta: { title: '案件详情', parent: { path: '/cases', title: '案件' } } },
  { path: '/alerts', component: () => import('./views/AlertBoard.vue'), meta: { title: '预警看板' } },
  { path: '/ratings', component: () => import('./views/RatingBoard.vue'), meta: { title: '红黄绿' } },
  { path: '/statistics', component: () => import('./views/StatisticsPage.vue'), meta: { title: '统计' } },
  { path: '/inquiries', component: () => import('./views/InquiryList.vue'), meta: { title: '一案双查' } },
  { path: '/inquiries/:id', component: () => import('./views/InquiryDetail.vue'), meta: { title: '问责调查详情', parent: { path: '/inquiries', title: '一案双查' } } },
  { path: '/rectification', component: () => import('./views/RectificationPage.vue'), meta: { title: '整改台账' } },
  { path: '/appraisals', component: () => import('./views/AppraisalPage.vue'), meta: { title: '考核评价' } },
  { path: '/integrity', component: () => import('./views/IntegrityPage.vue'), meta: { title: '廉政档案' } },
  { path: '/analysis-reports', component: () => import('./views/AnalysisReports.vue'), meta: { title: '分析报告' } },
  { path: '/suggestions', component: () => import('./views/SuggestionPage.vue'), meta: { title: '纪检监察建议' } },
  { path: '/typical-cases', component: () => import('./views/TypicalCasePage.vue'), meta: { title: '典型案例' } },
  { path: '/bulletins', component: () => import('./views/BulletinPage.vue'), meta: { title: '廉情通报' } },
  { path: '/system', component: () => import('./views/SystemPage.vue'), meta: { title: '系统' } },
]

const router = createRouter({ history: createWebHistory(), routes })

router.beforeEach(async (to) => {
  if (!session.checked) await restore()
  if (!to.meta.public && !session.operator) return { path: '/login', query: { next: to.fullPath } }
  return true
})

window.addEventListener('zf-session-expired', () => {
  const here = router.currentRoute.value
  if (!here.meta.public) router.push({ path: '/login', query: { next: here.fullPath, expired: '1' } })
})

export default router
