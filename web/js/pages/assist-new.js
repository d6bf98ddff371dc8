/* /assist/new — 帮我办: book an agent (帮办代办) without boarding a ferry.
 *
 * Residents (citizen, company) book for themselves (channel online); staff,
 * supervisors and admins take a phone or station intake for someone else (name
 * and phone instead of an account). The item is optional ("不确定要办什么"):
 * ?item=CODE comes from a guide page's button, otherwise the resident may search
 * the catalog by name, pinyin or initials (GET /api/v1/suggest). The village is
 * chosen by town; a resident's own town is preselected. On success the request
 * page opens; the dispatcher has usually found an agent already. */
import { get, post, withQuery } from '../api.js';
import { clearFormErrors, field, formAlert, h, notice, replace, showFormError } from '../dom.js';
import * as session from '../session.js';

const STAFF = ['staff', 'supervisor', 'admin'];

export async function render(main, ctx) {
  ctx.setTitle('帮我办');
  const u = session.user();
  const staff = u && STAFF.includes(u.role);
  const itemCode = ctx.params.get('item') || '';

  const towns = await get('/api/v1/places/towns', { signal: ctx.signal }).catch(() => null);
  if (ctx.signal.aborted) return;
  if (!towns) {
    replace(main, notice('error', '乡镇列表加载失败，请刷新重试。'));
    return;
  }
  let item = null;
  if (itemCode) item = await get(`/api/v1/items/${encodeURIComponent(itemCode)}`, { signal: ctx.signal }).catch(() => null);
  if (ctx.signal.aborted) return;

  const townItems = towns.items || [];
  const myTown = (u && u.town_code) || '';
  const town = field({
    label: '所在乡镇',
    name: 'town',
    required: true,
    options: [{ value: '', label: '请选择乡镇' }, ...townItems.map((t) => ({ value: t.code, label: t.name }))],
    value: townItems.some((t) => t.code === myTown) ? myTown : '',
  });
  const village = field({ label: '所在村（社区）', name: 'village_code', required: true, options: [{ value: '', label: '请先选择乡镇' }] });
  const address = field({ label: '详细地址', name: 'address', maxlength: 200, hint: '门牌号或方便代办员找到您的位置', autocomplete: 'street-address' });
  const urgency = field({
    label: '紧急程度',
    name: 'urgency',
    options: [
      { value: 'normal', label: '一般' },
      { value: 'urgent', label: '加急（优先派单）' },
    ],
    value: 'normal',
  });
  const preferred = field({ label: '希望上门时间', name: 'preferred_at', type: 'datetime-local', hint: '不填则尽快安排；最远 90 天内' });
  const desc = field({ label: '需要帮什么', name: 'description', multiline: true, rows: 3, maxlength: 2000, hint: '例如：帮我办老年人优待证，我腿脚不便' });

  // The item: fixed from ?item=, or searched.
  const itemInput = h('input', { type: 'search', id: 'assist-item-q', name: 'item_q', autocomplete: 'off', placeholder: '输入事项名称、拼音或首字母，可不填', 'aria-describedby': 'assist-item-hint' });
  const itemHidden = h('input', { type: 'hidden', name: 'item_code', value: item ? item.code : '' });
  const itemChosen = h('p', { class: 'assist-item-chosen', id: 'assist-item-chosen' }, item ? `办理事项：${item.name}` : '未选择事项：代办员会先电话了解您要办什么。');
  const sugg = h('ul', { class: 'assist-suggest', id: 'assist-suggest', role: 'listbox', hidden: true });
  const itemField = h(
    'div',
    { class: 'field field-wide' },
    h('label', { for: 'assist-item-q' }, '办理事项', h('span', { class: 'opt' }, '（选填）')),
    itemInput,
    h('p', { class: 'hint', id: 'assist-item-hint' }, '不确定要办什么也没关系，直接说明需求即可。'),
    sugg,
    itemChosen,
    itemHidden,
    h('p', { class: 'field-error', hidden: true, id: 'assist-item-error' }),
  );
  let timer = 0;
  itemInput.addEventListener('input', () => {
    clearTimeout(timer);
    const q = itemInput.value.trim();
    if (!q) {
      sugg.hidden = true;
      return;
    }
    timer = setTimeout(async () => {
      const r = await get(withQuery('/api/v1/suggest', { q })).catch(() => null);
      const list = (r && r.items) || [];
      replace(
        sugg,
        list.slice(0, 8).map((it) =>
          h(
            'li',
            null,
            h(
              'button',
              {
                type: 'button',
                class: 'assist-suggest-item',
                role: 'option',
                on: {
                  click: () => {
                    itemHidden.value = it.code;
                    itemChosen.textContent = `办理事项：${it.name}`;
                    itemInput.value = it.name;
                    sugg.hidden = true;
                  },
                },
              },
              it.name,
            ),
          ),
        ),
      );
      sugg.hidden = !list.length;
    }, 150);
  });

  // Staff intake: who is calling.
  const residentName = staff ? field({ label: '居民姓名', name: 'resident_name', required: true, maxlength: 64 }) : null;
  const residentPhone = staff ? field({ label: '联系电话', name: 'resident_phone', required: true, inputmode: 'tel', maxlength: 20 }) : null;
  const channel = staff
    ? field({
        label: '受理方式',
        name: 'channel',
        options: [
          { value: 'phone', label: '电话预约' },
          { value: 'station', label: '站点受理' },
        ],
        value: 'phone',
      })
    : null;

  async function loadVillages() {
    const code = town.control.value;
    if (!code) {
      replace(village.control, h('option', { value: '' }, '请先选择乡镇'));
      return;
    }
    const r = await get(withQuery('/api/v1/places/villages', { town: code })).catch(() => null);
    const list = (r && r.items) || [];
    replace(village.control, h('option', { value: '' }, '请选择村（社区）'), list.map((v) => h('option', { value: v.code }, v.name)));
  }
  town.control.addEventListener('change', loadVillages);

  const alert = formAlert();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', id: 'assist-submit' }, '提交预约');
  const form = h(
    'form',
    { class: 'form assist-form', id: 'assist-form', novalidate: true },
    alert,
    staff ? h('fieldset', { class: 'assist-fieldset' }, h('legend', null, '来电居民'), residentName, residentPhone, channel) : null,
    h('fieldset', { class: 'assist-fieldset' }, h('legend', null, '在哪里'), town, village, address),
    h('fieldset', { class: 'assist-fieldset' }, h('legend', null, '办什么'), itemField, desc, urgency, preferred),
    submit,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFormErrors(form);
    const body = { village_code: village.control.value };
    if (!body.village_code) {
      showFormError(form, { field: 'village_code', message: '请选择所在村（社区）' });
      return;
    }
    if (itemHidden.value) body.item_code = itemHidden.value;
    const a = address.control.value.trim();
    if (a) body.address = a;
    const d = desc.control.value.trim();
    if (d) body.description = d;
    body.urgency = urgency.control.value;
    if (preferred.control.value) body.preferred_at = preferred.control.value.replace('T', ' ');
    if (staff) {
      body.resident_name = residentName.control.value.trim();
      body.resident_phone = residentPhone.control.value.trim();
      body.channel = channel.control.value;
    }
    submit.disabled = true;
    try {
      const r = await post('/api/v1/assist', body);
      ctx.navigate(`/assist/${r.id}?created=1`);
    } catch (e) {
      showFormError(form, e);
    } finally {
      submit.disabled = false;
    }
  });

  replace(
    main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { class: 'page-title', tabindex: '-1' }, staff ? '帮办代办受理' : '帮我办'),
      h('p', { class: 'page-sub' }, staff ? '为来电或到站的居民登记帮办代办需求，系统按渡轮时刻和代办员负荷自动派单。' : '不用坐船进城：告诉我们您在哪里、要办什么，附近的帮办代办员会上门或在网上帮您办。'),
    ),
    form,
  );
  if (town.control.value) loadVillages();
}
