/* /screen — 防围串标: the supervisors' queue of screening alerts (GET
 * /api/v1/screen/alerts), hard evidence first (electronic traces, price patterns,
 * documents written by another bidder), then the tenders whose prices alone stand
 * out; tabs by status (待研判 + 持续关注, 已立案, 已排除, all), and the open
 * investigation cases (GET /api/v1/screen/cases). Supervisors and admins only. */
import { get, post, withQuery } from '../api.js';
import { pager } from '../cases.js';
import { h, notice, replace } from '../dom.js';

const PAGE = 50;

const TABS = [
  { status: 'open', label: '待处理' },
  { status: 'case', label: '已立案' },
  { status: 'dismissed', label: '已排除' },
  { status: 'all', label: '全部' },
];

export function scoreBadge(score, hard) {
  const pct = Math.round(score * 100);
  return h('span', { class: ['badge', 'screen-score', hard || score >= 0.9 ? 'screen-score-high' : score >= 0.6 ? 'screen-score-mid' : 'screen-score-low'] }, `${pct} 分`);
}

/** The reasons string of the engine, in words a supervisor reads. */
export function reasonList(reasons) {
  const words = {
    ip: '同一IP地址上传',
    machine_id: '同一台电脑（硬件特征码）',
    ca_serial: '同一数字证书密钥',
    file_hash: '投标文件完全相同',
    author: '同一文件编制人',
    deposit_account: '保证金从同一账户转出',
    project_manager: '同一项目负责人',
  };
  return (reasons || '')
    .split(';')
    .filter(Boolean)
    .map((r) => {
      let m = r.match(/^same (\w+) across bidders \((\d+)[^)]*\) art\.40(\(\d\))/);
      if (m) return `${words[m[1]] || m[1]}（${m[2]} 处，条例第四十条${m[3]}）`;
      m = r.match(/^arithmetic progression of (\d+) bids/);
      if (m) return `${m[1]} 家报价呈等差数列（第四十条(4)）`;
      m = r.match(/^fixed ratio between (\d+) bids/);
      if (m) return `${m[1]} 家报价呈固定比例（第四十条(4)）`;
      m = r.match(/^identical prices \((\d+) pairs\)/);
      if (m) return `${m[1]} 对报价完全相同（第四十条(4)）`;
      if (r.startsWith('bid document authored by another bidder')) return '投标文件由其他投标人编制（第四十条(5)）';
      m = r.match(/^lowest bid at ([\d.]+)% of budget/);
      if (m) return `最低报价为最高限价的 ${m[1]}%`;
      m = r.match(/^([a-z0-9_]+)=([^()]+)\(\+([\d.]+)\)$/);
      if (m) return `价格特征 ${m[1]} = ${m[2]}`;
      return r;
    });
}

export async function render(main, ctx) {
  ctx.setTitle('防围串标');
  const status = TABS.some((t) => t.status === ctx.params.get('status')) ? ctx.params.get('status') : 'open';
  const page = Math.max(1, Math.min(2000, parseInt(ctx.params.get('page') || '1', 10) || 1));
  const pageUrl = (p) => withQuery('/screen', { status: status === 'open' ? '' : status, page: p > 1 ? p : '' });
  const flash = h('div', { id: 'screen-flash', 'aria-live': 'polite' });
  const list = h('div', { id: 'screen-queue' }, h('p', { class: 'loading' }, '正在加载预警…'));
  const cases = h('section', { class: 'card', id: 'screen-cases' });
  const runBtn = h('button', { type: 'button', class: 'btn btn-secondary', id: 'screen-run' }, '立即全量筛查');
  runBtn.addEventListener('click', async () => {
    runBtn.disabled = true;
    try {
      const r = await post('/api/v1/screen/run', {});
      replace(flash, notice('ok', `已筛查 ${r.tenders} 个项目，${r.flagged} 个预警（新增 ${r.new_alerts}）。`));
      await load();
    } catch (e) {
      replace(flash, notice('error', e.message));
    } finally {
      runBtn.disabled = false;
    }
  });
  replace(
    main,
    h(
      'div',
      { class: 'page-head page-head-row' },
      h('div', null, h('h1', { class: 'page-title', tabindex: '-1' }, '防围串标监管'), h('p', { class: 'page-sub' }, '开标后自动筛查，每晚全量复查：价格特征、电子痕迹、文件雷同、投标人关系。结果仅监管人员可见。')),
      runBtn,
    ),
    flash,
    h('nav', { class: 'tabs', 'aria-label': '预警状态' }, h('ul', null, TABS.map((t) => h('li', null, h('a', { class: 'tab', href: withQuery('/screen', { status: t.status === 'open' ? '' : t.status }), 'aria-current': t.status === status ? 'page' : null }, t.label))))),
    list,
    cases,
  );

  async function load() {
    let r, c;
    try {
      [r, c] = await Promise.all([
        get(withQuery('/api/v1/screen/alerts', { status, limit: PAGE, offset: (page - 1) * PAGE }), { signal: ctx.signal }),
        get(withQuery('/api/v1/screen/cases', { status: 'open' }), { signal: ctx.signal }),
      ]);
    } catch (e) {
      if (ctx.signal.aborted) return;
      replace(list, notice('error', `加载失败：${e.message}`));
      return;
    }
    if (ctx.signal.aborted) return;
    const items = r.items || [];
    replace(
      list,
      items.length
        ? h(
            'ul',
            { class: 'screen-list', id: 'screen-alert-list' },
            items.map((a) =>
              h(
                'li',
                { class: 'card screen-alert-row', dataset: { id: a.id, status: a.status } },
                h(
                  'p',
                  { class: 'screen-alert-head' },
                  scoreBadge(a.score, a.hard),
                  ' ',
                  h('a', { href: `/screen/alerts/${a.id}`, class: 'screen-alert-link' }, `${a.tender.tender_no} ${a.tender.title}`),
                  ' ',
                  h('span', { class: 'badge' }, a.status_label),
                ),
                h('ul', { class: 'screen-reasons' }, reasonList(a.reasons).slice(0, 4).map((x) => h('li', null, x))),
              ),
            ),
          )
        : h('p', { class: 'muted' }, status === 'open' ? '没有待处理的预警。' : '没有记录。'),
      h('p', { class: 'muted' }, `共 ${r.total} 条`),
      pager(r.total, page, PAGE, pageUrl, '预警分页'),
    );
    const open = c.items || [];
    replace(
      cases,
      h('h2', null, `调查中的案件（${open.length}）`),
      open.length
        ? h('ul', { class: 'screen-case-list' }, open.map((x) => h('li', null, h('a', { href: `/screen/cases/${x.id}` }, `${x.case_no} ${x.title}`), h('span', { class: 'muted' }, ` · ${x.alerts} 个预警`))))
        : h('p', { class: 'muted' }, '暂无。'),
    );
  }
  await load();
}
