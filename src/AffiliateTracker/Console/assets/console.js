// Progressive enhancement for the console; every page works without it.
(() => {
  // The language switcher submits itself on change.
  for (const select of document.querySelectorAll('select[data-autosubmit]'))
    select.addEventListener('change', () => select.form.submit());

  // "Copy" buttons copy the value of the element their data-copy names.
  for (const button of document.querySelectorAll('button[data-copy]')) {
    button.addEventListener('click', async () => {
      const source = document.getElementById(button.dataset.copy);
      try {
        await navigator.clipboard.writeText(source.value ?? source.textContent);
      } catch {
        source.select?.();
        document.execCommand?.('copy');
      }
      const label = button.textContent;
      button.textContent = button.dataset.copied || 'Copied';
      setTimeout(() => (button.textContent = label), 1500);
    });
  }

  // A "select all" box ticks every box of its table.
  for (const all of document.querySelectorAll('input[data-select-all]')) {
    all.addEventListener('change', () => {
      for (const box of all.closest('table').querySelectorAll('tbody input[type=checkbox]')) box.checked = all.checked;
    });
  }

  // Buttons that change money ask first.
  for (const button of document.querySelectorAll('[data-confirm]')) {
    button.addEventListener('click', (e) => { if (!confirm(button.dataset.confirm)) e.preventDefault(); });
  }

  // Charts: the data sits in a JSON block beside the canvas (no inline script).
  for (const canvas of document.querySelectorAll('canvas[data-chart]')) {
    if (typeof Chart === 'undefined') continue;
    const data = JSON.parse(document.getElementById(canvas.dataset.chart).textContent);
    new Chart(canvas, {
      type: 'line',
      data: {
        labels: data.labels,
        datasets: data.series.map((s, i) => ({
          label: s.label, data: s.values, yAxisID: s.axis, tension: 0.25,
          borderColor: ['#0172ad', '#1b6e3a', '#a3261e'][i % 3], backgroundColor: ['#0172ad33', '#1b6e3a33', '#a3261e33'][i % 3],
        })),
      },
      options: {
        maintainAspectRatio: false, animation: false, interaction: { mode: 'index', intersect: false },
        scales: { y: { beginAtZero: true, position: 'left' }, y2: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false } } },
      },
    });
  }
})();
