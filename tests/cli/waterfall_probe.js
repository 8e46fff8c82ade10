/* waterfall_probe.js - run in a waterfall page by cdp_probe.py: one expression, a function of
 * {click: span ID, fold: span ID}. It reads what the page shows (rows, bar and ruler
 * positions in pixels, what is hidden) and acts as a user does (clicks a row, a fold toggle,
 * Collapse all / Expand all), and returns plain data; the C test decides what is right. */
async function (args) {
	const frame = () => new Promise((ok) => requestAnimationFrame(() => ok()));
	const rows = () => Array.from(document.querySelectorAll('#waterfall .r'));
	const visible = () => rows().filter((r) => r.offsetParent !== null).map((r) => r.dataset.span);
	const byId = (id) => rows().find((r) => r.dataset.span === id);
	const out = {ready: document.body.dataset.ready || '', pwned: window.__pwned || 0};

	if (args.noscript)
		return {ready: out.ready, body: document.body.className, rows: rows().map((r) => r.dataset.span),
			visible: visible().length, panel: document.getElementById('wf-detail').hidden};
	const axis = document.querySelector('#waterfall .hd .t').getBoundingClientRect();

	out.axis = {left: axis.left, width: axis.width};
	out.ticks = Array.from(document.querySelectorAll('#waterfall .hd .t i')).map((i) => {
		const r = i.getBoundingClientRect();
		return {text: i.textContent, left: r.left, right: r.right};
	});
	out.rows = rows().map((r) => {
		const b = r.querySelector('.b'), n = r.querySelector('.n');
		const br = b ? b.getBoundingClientRect() : null;
		return {
			id: r.dataset.span,
			text: n.textContent,
			indent: parseFloat(getComputedStyle(n).paddingLeft),
			left: br ? br.left : null,
			right: br ? br.right : null,
		};
	});
	out.visible0 = visible().length;
	out.panel0 = document.getElementById('wf-detail').hidden;
	if (args.click) {
		byId(args.click).querySelector('.op').click();
		await frame();
		const p = document.getElementById('wf-detail');
		out.click = {hidden: p.hidden, span: p.dataset.span || '', text: p.textContent,
			     afterRow: p.previousElementSibling ? p.previousElementSibling.dataset.span : ''};
	}
	if (args.fold) {
		byId(args.fold).querySelector('.tg').click();
		await frame();
		out.fold = {visible: visible()};
		byId(args.fold).querySelector('.tg').click();
		await frame();
		out.fold.unfolded = visible().length;
	}
	document.getElementById('wf-collapse').click();
	await frame();
	out.collapsed = visible();
	document.getElementById('wf-expand').click();
	await frame();
	out.expanded = visible().length;
	if (args.click) /* open again, for the screenshot */
		byId(args.click).querySelector('.op').click();
	if (args.text)
		out.bodyText = document.body.innerText;
	out.pwned = window.__pwned || 0;
	return out;
}
