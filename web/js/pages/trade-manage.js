/* /trade/manage — trading staff's desk (trading_staff, admin; supervisors read
 * only): tenders by status (drafts included), create and edit drafts, announce,
 * publish a clarification or an amendment (which may move the deadline), cancel
 * with a reason.
 *
 *   /trade/manage                 the list (filters status, kind, q; paged)
 *   /trade/manage?new=1           a new draft
 *   /trade/manage?edit=ID         edit a draft
 *   /trade/manage?id=ID           one tender with its actions
 *
 * Times are entered as Beijing time (datetime-local) and sent with +08:00. */
import { api, get, patch, post, withQuery } from '../api.js';
import { busy, clearFormErrors, field, fmtDateTime, formAlert, h, notice, replace, showFormError } from '../dom.js';
import { KINDS, SALE_KINDS, STAFF_ROLES, kindBadge, statusBadge, tradeCss, tradeTabs, yuan } from './trade-list.js';

const PAGE = 20;
const STATUSES = [
  { value: '', label: '全部状态' },
  { value: 'draft', label: '草稿' },
  { value: 'announced', label: '公告中' },
  { value: 'opening', label: '开标中' },
  { value: 'evaluation', label: '评标中' },
  { value: 'publicity', label: '中标候选人公示' },
  { value: 'auction', label: '竞价中' },
  { value: 'awarded', label: '已定标' },
  { value: 'contracted', label: '已签合同' },
  { value: 'failed', label: '流标' },
  { value: 'cancelled', label: '已终止' },
];
const METHODS = {
  works: [
    { value: 'reasonable_low', label: '合理低价法' },
    { value: 'lowest_price', label: '经评审的最低投标价法' },
    { value: 'composite', label: '综合评分法' },
  ],
  procurement: [
    { value: 'composite', label: '综合评分法' },
    { value: 'lowest_price', label: '最低评标价法' },
    { value: 'reasonable_low', label: '合理低价法' },
  ],
  sale: [{ value: 'auction', label: '网络竞价' }],
};

/** ISO instant → "YYYY-MM-DDTHH:MM" in Beijing time (for datetime-local). */
function toLocal(iso) {
  if (!iso) return '';
  const d = new Date(Date.parse(iso) + 8 * 3600 * 1000);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 16);
}
/** "YYYY-MM-DDTHH:MM" (Beijing) → ISO with +08:00, '' when empty. */
function fromLocal(v) {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(v || '') ? `${v}:00+08:00` : '';
}

function noOpt(w) {
  w.querySelector('.opt')?.remove();
  return w;
}

export async function render(main, ctx) {
  tradeCss();
  const staff = STAFF_ROLES.includes(ctx.user.role);
  const p = ctx.params;
  ctx.setTitle('交易管理');
  const head = h(
    'div',
    { class: 'page-head page-head-row' },
    h('div', null, h('h1', { class: 'page-title', tabindex: '-1' }, '交易管理'), h('p', { class: 'page-sub' }, staff ? '新建、发布和管理招标采购与出让项目。' : '监管人员可查看全部项目，不能修改。')),
    staff ? h('a', { class: 'btn btn-primary', id: 'new-tender', href: '/trade/manage?new=1' }, '新建项目') : null,
  );
  const body = h('div', { class: 'trade-manage-layout' });
  replace(main, head, tradeTabs(ctx, '/trade/manage'), staff ? null : notice('info', '只读：监管人员可查看全部项目（含草稿）。'), body);
  if (staff && p.get('new')) return editForm(body, ctx, null);
  if (staff && /^\d+$/.test(p.get('edit') || '')) {
    const t = await get(`/api/v1/trade/tenders/${p.get('edit')}`, { signal: ctx.signal });
    if (ctx.signal.aborted) return;
    return editForm(body, ctx, t);
  }
  if (/^\d+$/.test(p.get('id') || '')) return detail(body, ctx, p.get('id'), staff);
  return list(body, ctx);
}

/* ---- the list ---- */

async function list(body, ctx) {
  const p = ctx.params;
  const f = {
    status: STATUSES.some((s) => s.value === p.get('status')) ? p.get('status') : '',
    kind: KINDS.some((k) => k.value === p.get('kind')) ? p.get('kind') : '',
    q: (p.get('q') || '').trim().slice(0, 100),
  };
  const page = Math.max(1, parseInt(p.get('page') || '1', 10) || 1);
  const fStatus = noOpt(field({ label: '状态', name: 'status', options: STATUSES, value: f.status }));
  const fKind = noOpt(field({ label: '类别', name: 'kind', options: [{ value: '', label: '全部类别' }, ...KINDS], value: f.kind }));
  const fQ = noOpt(field({ label: '关键词', name: 'q', type: 'search', value: f.q, maxlength: 100, placeholder: '名称、编号或招标人' }));
  const read = () => ({ status: fStatus.control.value, kind: fKind.control.value, q: fQ.control.value.trim() });
  const form = h('form', { class: 'filters', id: 'manage-filters', role: 'search' }, fQ, fStatus, fKind, h('div', { class: 'filter-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, '查询')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.navigate(withQuery('/trade/manage', read()));
  });
  for (const w of [fStatus, fKind]) w.control.addEventListener('change', () => ctx.navigate(withQuery('/trade/manage', read())));
  const box = h('div', { id: 'manage-list' }, h('p', { class: 'loading' }, '正在加载…'));
  replace(body, form, box);
  let r;
  try {
    r = await get(withQuery('/api/v1/trade/tenders', { ...f, limit: PAGE, offset: (page - 1) * PAGE }), { signal: ctx.signal });
  } catch (e) {
    if (ctx.signal.aborted) return;
    replace(box, notice('error', `加载失败：${e.message}`));
    return;
  }
  if (ctx.signal.aborted) return;
  if (!r.items.length) {
    replace(box, h('div', { class: 'empty-state' }, h('p', { class: 'empty-title' }, '没有符合条件的项目')));
    return;
  }
  const pages = Math.max(1, Math.ceil(r.total / PAGE));
  const url = (pg) => withQuery('/trade/manage', { ...f, page: pg > 1 ? pg : '' });
  replace(
    box,
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'table trade-table', id: 'manage-table' },
        h('caption', null, `共 ${r.total} 个项目`),
        h('thead', null, h('tr', null, ['编号', '项目名称', '类别', '状态', '截止时间', '金额'].map((c) => h('th', { scope: 'col' }, c)))),
        h(
          'tbody',
          null,
          r.items.map((t) =>
            h(
              'tr',
              { dataset: { id: String(t.id), status: t.status } },
              h('td', { class: 'mono' }, t.tender_no),
              h('td', { class: 'trade-title-cell' }, h('a', { href: `/trade/manage?id=${t.id}` }, t.title)),
              h('td', null, kindBadge(t)),
              h('td', null, statusBadge(t)),
              h('td', null, fmtDateTime(t.deadline_at)),
              h('td', { class: 'trade-money' }, yuan(SALE_KINDS.has(t.kind) ? t.reserve : t.budget)),
            ),
          ),
        ),
      ),
    ),
    pages > 1
      ? h(
          'nav',
          { class: 'pager', 'aria-label': '翻页' },
          page > 1 ? h('a', { class: 'btn btn-ghost', href: url(page - 1) }, '上一页') : null,
          h('span', { class: 'pager-info' }, `第 ${page} / ${pages} 页`),
          page < pages ? h('a', { class: 'btn btn-ghost', href: url(page + 1) }, '下一页') : null,
        )
      : null,
  );
}

/* ---- one tender ---- */

async function detail(body, ctx, id, staff) {
  let t;
  try {
    t = await get(`/api/v1/trade/tenders/${id}`, { signal: ctx.signal });
  } catch (e) {
    if (ctx.signal.aborted) return;
    replace(body, notice('error', e.status === 404 ? '没有这个项目。' : `加载失败：${e.message}`));
    return;
  }
  if (ctx.signal.aborted) return;
  const status = h('div', { class: 'status-region', role: 'status', 'aria-live': 'polite', id: 'manage-msg' });
  const sale = SALE_KINDS.has(t.kind);
  const reload = async (msg) => {
    await detail(body, ctx, id, staff);
    const s = document.getElementById('manage-msg');
    if (s && msg) replace(s, notice('ok', msg));
  };
  const actions = [];
  if (staff && t.can.edit) actions.push(h('a', { class: 'btn btn-secondary', id: 'edit-tender', href: `/trade/manage?edit=${t.id}` }, '编辑草稿'));
  let announceForm = null;
  if (staff && t.can.announce) {
    const fFiles = field({ label: '招标文件（随公告公开，可多选）', name: 'files', type: 'file', hint: `自公告发布至投标截止不得少于 ${t.min_notice_days} 日` });
    fFiles.control.multiple = true;
    announceForm = h(
      'form',
      { class: 'form', id: 'announce-form', novalidate: true },
      formAlert(),
      fFiles,
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', id: 'announce' }, '发布公告')),
    );
    announceForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearFormErrors(announceForm);
      await busy(announceForm, async () => {
        try {
          const files = [...(fFiles.control.files || [])];
          let ids = [];
          if (files.length) {
            const fd = new FormData();
            for (const f of files) fd.append('file', f, f.name);
            const up = await api('POST', '/api/v1/uploads', fd);
            ids = up.files.map((f) => f.id);
          }
          await post(`/api/v1/trade/tenders/${t.id}/announce`, { version: t.version, files: ids });
          await reload('公告已发布，项目已对公众公开。');
        } catch (err) {
          showFormError(announceForm, err);
        }
      });
    });
  }
  actions.push(h('a', { class: 'btn btn-ghost', href: `/trade/tenders/${t.id}` }, '查看公开页面'));
  replace(
    body,
    h('p', null, h('a', { href: '/trade/manage' }, '← 返回项目列表')),
    h(
      'section',
      { class: 'panel', id: 'manage-detail', 'aria-labelledby': 'manage-detail-title' },
      h('h2', { class: 'panel-title', id: 'manage-detail-title' }, t.title),
      h('p', { class: 'trade-head-meta' }, h('span', { class: 'trade-no' }, t.tender_no), statusBadge(t), kindBadge(t)),
      h(
        'dl',
        { class: 'kv trade-kv' },
        [
          [sale ? '出让人' : '招标人', t.buyer],
          [sale ? '起拍价' : '预算', yuan(sale ? t.reserve : t.budget)],
          ['保证金', yuan(t.deposit)],
          ['方式', t.method_label],
          ['公告发布', t.announce_at ? fmtDateTime(t.announce_at) : '尚未发布'],
          ['投标截止', h('span', { id: 'manage-deadline' }, fmtDateTime(t.deadline_at))],
          t.cancelled_reason ? ['终止原因', t.cancelled_reason] : null,
          t.failed_reason ? ['流标原因', t.failed_reason] : null,
        ]
          .filter(Boolean)
          .map(([k, v]) => [h('dt', null, k), h('dd', null, v)]),
      ),
      status,
      h('div', { class: 'trade-actions' }, actions),
    ),
    announceForm ? h('section', { class: 'panel', 'aria-labelledby': 'announce-title' }, h('h2', { class: 'panel-title', id: 'announce-title' }, '发布公告'), announceForm) : null,
    staff && t.can.notice ? noticeForm(t, reload) : null,
    staff && t.can.cancel ? cancelForm(t, reload) : null,
  );
}

function noticeForm(t, reload) {
  const fKind = field({
    label: '公告类型', name: 'kind', required: true, value: 'clarification',
    options: [{ value: 'clarification', label: '澄清（答疑）' }, { value: 'amendment', label: '修改（可顺延截止时间）' }],
  });
  const fDl = field({ label: '新的投标截止时间（北京时间）', name: 'new_deadline_at', type: 'datetime-local', hint: `距截止不足 ${t.min_amend_days} 日发布澄清或修改的，须顺延至发布之日起 ${t.min_amend_days} 日后（招标投标法第二十三条）` });
  fDl.hidden = true;
  fKind.control.addEventListener('change', () => {
    fDl.hidden = fKind.control.value !== 'amendment';
  });
  const form = h(
    'form',
    { class: 'form trade-form', id: 'notice-form', novalidate: true },
    formAlert(),
    h(
      'div',
      { class: 'form-grid' },
      fKind,
      field({ label: '标题', name: 'title', required: true, maxlength: 200, wide: true }),
      field({ label: '内容', name: 'body', required: true, multiline: true, rows: 5, wide: true, maxlength: 20000 }),
      fDl,
    ),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, '发布')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFormErrors(form);
    const v = { kind: fKind.control.value, title: form.elements.namedItem('title').value.trim(), body: form.elements.namedItem('body').value.trim() };
    if (v.kind === 'amendment' && fDl.control.value) v.new_deadline_at = fromLocal(fDl.control.value);
    await busy(form, async () => {
      try {
        await post(`/api/v1/trade/tenders/${t.id}/notices`, v);
        await reload(v.new_deadline_at ? '修改公告已发布，投标截止时间已顺延。' : '公告已发布。');
      } catch (err) {
        showFormError(form, err);
      }
    });
  });
  return h('section', { class: 'panel', 'aria-labelledby': 'notice-form-title' }, h('h2', { class: 'panel-title', id: 'notice-form-title' }, '发布澄清或修改'), form);
}

function cancelForm(t, reload) {
  const form = h(
    'form',
    { class: 'form', id: 'cancel-form', novalidate: true },
    formAlert(),
    field({ label: '终止原因', name: 'reason', required: true, multiline: true, rows: 3, maxlength: 1000, hint: '将在终止公告中公开' }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-danger-ghost' }, '终止项目')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFormErrors(form);
    const reason = form.elements.namedItem('reason').value.trim();
    if (!reason) {
      showFormError(form, { field: 'reason', message: '请填写终止原因' });
      return;
    }
    await busy(form, async () => {
      try {
        await post(`/api/v1/trade/tenders/${t.id}/cancel`, { reason });
        await reload('项目已终止。');
      } catch (err) {
        showFormError(form, err);
      }
    });
  });
  return h(
    'details',
    { class: 'panel', id: 'cancel-panel' },
    h('summary', null, '终止项目'),
    form,
  );
}

/* ---- create / edit ---- */

function editForm(body, ctx, t) {
  const kind0 = t ? t.kind : 'works';
  const mp = (t && t.method_params) || {};
  const fKind = field({ label: '交易类别', name: 'kind', required: true, options: KINDS, value: kind0 });
  if (t) fKind.control.disabled = true;
  const fMethod = field({ label: '评标（交易）方式', name: 'method', required: true, options: METHODS.works, value: t ? t.method : 'reasonable_low' });
  const fBudget = field({ label: '预算 / 最高限价（元）', name: 'budget', required: true, inputmode: 'decimal', value: t && t.budget ? t.budget : '' });
  const fReserve = field({ label: '起拍价（元）', name: 'reserve', required: true, inputmode: 'decimal', value: t && t.reserve ? t.reserve : '' });
  const fDeposit = field({ label: '保证金（元）', name: 'deposit', inputmode: 'decimal', value: t && t.deposit_fen ? t.deposit : '', hint: '工程、采购不超过预算的 2%' });
  const fPw = field({ label: '价格分权重（%）', name: 'price_weight', type: 'number', min: 0, max: 100, value: String(mp.price_weight ?? 30) });
  const fTw = field({ label: '技术分权重（%）', name: 'tech_weight', type: 'number', min: 0, max: 100, value: String(mp.tech_weight ?? 70) });
  const fFmin = field({ label: '下浮系数下限', name: 'factor_min', type: 'number', step: '0.01', min: '0.9', max: '1', value: String(mp.factor_min ?? 0.95) });
  const fFmax = field({ label: '下浮系数上限', name: 'factor_max', type: 'number', step: '0.01', min: '0.9', max: '1', value: String(mp.factor_max ?? 0.98) });
  const fInc = field({ label: '加价幅度（元）', name: 'increment', inputmode: 'decimal', value: mp.increment || '' });
  const fExt = field({ label: '延时周期（秒）', name: 'extend_seconds', type: 'number', min: 30, max: 3600, value: String(mp.extend_seconds ?? 300) });
  const fPub = field({ label: '公示期（天）', name: 'publicity_days', type: 'number', min: 1, max: 30, value: String(t ? t.publicity_days : 3) });
  const lotsText = t && t.lots ? t.lots.map((l) => (l.budget ? `${l.name}，${l.budget}` : l.name)).join('\n') : '';
  const form = h(
    'form',
    { class: 'form trade-form', id: 'tender-form', novalidate: true },
    formAlert(),
    h(
      'fieldset',
      null,
      h('legend', null, '基本信息'),
      h(
        'div',
        { class: 'form-grid' },
        fKind,
        fMethod,
        field({ label: '项目名称', name: 'title', required: true, maxlength: 200, wide: true, value: t ? t.title : '' }),
        field({ label: '招标人 / 采购人 / 出让人', name: 'buyer', required: true, maxlength: 200, value: t ? t.buyer : '' }),
        field({ label: '招标代理机构', name: 'agency', maxlength: 200, value: t && t.agency ? t.agency : '' }),
        fBudget,
        fReserve,
        fDeposit,
        fPub,
      ),
    ),
    h('fieldset', null, h('legend', null, '评标（交易）参数'), h('div', { class: 'form-grid' }, fPw, fTw, fFmin, fFmax, fInc, fExt)),
    h(
      'fieldset',
      null,
      h('legend', null, '时间安排（北京时间）'),
      h(
        'div',
        { class: 'form-grid' },
        field({ label: '答疑截止', name: 'questions_until', type: 'datetime-local', value: toLocal(t && t.questions_until) }),
        field({ label: '投标截止（开标时间）', name: 'deadline_at', type: 'datetime-local', required: true, value: toLocal(t && t.deadline_at), hint: '工程、采购自公告发布起不少于 20 日；出让类不少于 10 日' }),
        field({ label: '评标时间', name: 'evaluation_at', type: 'datetime-local', value: toLocal(t && t.evaluation_at) }),
      ),
    ),
    h(
      'fieldset',
      null,
      h('legend', null, '标段与要求'),
      h(
        'div',
        { class: 'form-grid' },
        field({ label: '标段（每行一个：名称，预算元）', name: 'lots', multiline: true, rows: 3, wide: true, value: lotsText, placeholder: '一标段，6000000\n二标段，4000000' }),
        field({ label: '资格要求', name: 'qualification', multiline: true, rows: 3, wide: true, maxlength: 20000, value: t && t.qualification ? t.qualification : '' }),
        field({ label: '项目说明', name: 'description', multiline: true, rows: 4, wide: true, maxlength: 20000, value: t && t.description ? t.description : '' }),
      ),
    ),
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', id: 'save-tender' }, t ? '保存草稿' : '创建草稿'),
      h('a', { class: 'btn btn-ghost', href: t ? `/trade/manage?id=${t.id}` : '/trade/manage' }, '取消'),
    ),
  );
  const sync = () => {
    const kind = fKind.control.value;
    const sale = SALE_KINDS.has(kind);
    const opts = sale ? METHODS.sale : METHODS[kind] || METHODS.works;
    const cur = fMethod.control.value;
    replace(fMethod.control, opts.map((o) => h('option', { value: o.value, selected: o.value === cur }, o.label)));
    const method = fMethod.control.value;
    fBudget.hidden = sale;
    fReserve.hidden = !sale;
    fPw.hidden = fTw.hidden = method !== 'composite';
    fFmin.hidden = fFmax.hidden = method !== 'reasonable_low';
    fInc.hidden = fExt.hidden = method !== 'auction';
    fPub.hidden = sale;
  };
  fKind.control.addEventListener('change', sync);
  fMethod.control.addEventListener('change', sync);
  sync();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFormErrors(form);
    const val = (n) => form.elements.namedItem(n).value.trim();
    const kind = fKind.control.value;
    const method = fMethod.control.value;
    const sale = SALE_KINDS.has(kind);
    const v = {
      title: val('title'), buyer: val('buyer'), agency: val('agency') || null, method,
      deposit: val('deposit') || null, qualification: val('qualification') || null, description: val('description') || null,
      questions_until: fromLocal(val('questions_until')) || null, deadline_at: fromLocal(val('deadline_at')) || null,
      evaluation_at: fromLocal(val('evaluation_at')) || null,
    };
    if (!t) v.kind = kind;
    if (sale) {
      v.reserve = val('reserve') || null;
      v.budget = null;
    } else {
      v.budget = val('budget') || null;
      v.reserve = null;
      v.publicity_days = parseInt(val('publicity_days'), 10) || 3;
    }
    if (method === 'composite') v.method_params = { price_weight: parseInt(val('price_weight'), 10), tech_weight: parseInt(val('tech_weight'), 10) };
    else if (method === 'reasonable_low') v.method_params = { factor_min: Number(val('factor_min')), factor_max: Number(val('factor_max')) };
    else if (method === 'auction') v.method_params = { increment: val('increment') || null, extend_seconds: parseInt(val('extend_seconds'), 10) || 300 };
    else v.method_params = {};
    v.lots = val('lots')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => {
        const m = /^(.*?)[,，\s]+([\d.,]+)$/.exec(l);
        return m ? { name: m[1].trim(), budget: m[2].replace(/,/g, '') } : { name: l };
      });
    if (!v.deadline_at) {
      showFormError(form, { field: 'deadline_at', message: '请填写投标截止时间' });
      return;
    }
    if (t) v.version = t.version;
    await busy(form, async () => {
      try {
        const saved = t ? await patch(`/api/v1/trade/tenders/${t.id}`, v) : await post('/api/v1/trade/tenders', v);
        ctx.navigate(`/trade/manage?id=${saved.id}`);
      } catch (err) {
        showFormError(form, err);
      }
    });
  });
  replace(
    body,
    h('p', null, h('a', { href: t ? `/trade/manage?id=${t.id}` : '/trade/manage' }, '← 返回')),
    h('section', { class: 'panel', 'aria-labelledby': 'tender-form-title' }, h('h2', { class: 'panel-title', id: 'tender-form-title' }, t ? `编辑草稿 ${t.tender_no}` : '新建项目（草稿）'), form),
  );
}
