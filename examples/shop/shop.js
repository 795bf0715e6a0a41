// The shop demo's behaviour (see index.html): products, cart, score and event flow.
/* global intake, document, location, setInterval */
'use strict';
(function () {
  const products = [
    { sku: 'TEA-01', name: 'Green tea', price: 6.5, category: 'tea' },
    { sku: 'MUG-02', name: 'Stoneware mug', price: 14, category: 'kitchen' },
    { sku: 'KET-03', name: 'Kettle', price: 39, category: 'kitchen' },
    { sku: 'BAG-04', name: 'Tote bag', price: 12, category: 'bags' },
  ];
  const cart = [];
  const $ = (id) => document.getElementById(id);

  function log(text) {
    const item = document.createElement('li');
    item.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
    $('flow').prepend(item);
    return item;
  }

  async function send(type, data) {
    const id = intake.track(type, data);
    const line = log(`${type} ${id.slice(0, 13)}… queued`);
    const stats = await intake.flush();
    line.textContent +=
      stats.queued === 0 ? ' → acknowledged (durable in Kafka)' : ' → still queued (offline?)';
    showStats(stats);
    void refreshScore();
  }

  function showStats(s) {
    $('stats').textContent =
      `sent ${s.sent}, queued ${s.queued}, rejected ${s.rejected}, dropped ${s.dropped}`;
  }

  let lastScore = null;
  let lastUpdate = '';
  async function refreshScore() {
    try {
      const record = await intake.score();
      // each edge follows the scores on its own: skip an answer older than the one shown
      if (!record || record.updatedAt < lastUpdate) return;
      lastUpdate = record.updatedAt;
      $('score').textContent = record.score.toFixed(3);
      $('score').className = '';
      const c = record.counts || {};
      $('counts').textContent = Object.keys(c)
        .map((k) => `${k}: ${c[k]}`)
        .join(', ');
      if (lastScore !== record.score) {
        if (lastScore !== null) log(`score ${lastScore.toFixed(3)} → ${record.score.toFixed(3)}`);
        lastScore = record.score;
      }
    } catch (err) {
      $('counts').textContent = String(err);
    }
  }

  function render() {
    for (const p of products) {
      const card = document.createElement('div');
      card.className = 'product';
      card.innerHTML = `<strong></strong><div class="muted"></div>`;
      card.querySelector('strong').textContent = p.name;
      card.querySelector('div').textContent = `${p.price.toFixed(2)} €`;
      const view = document.createElement('button');
      view.textContent = 'View';
      view.dataset.view = p.sku;
      view.onclick = () => {
        card.classList.add('viewed');
        void send('product_view', { sku: p.sku, price: p.price, category: p.category });
      };
      const add = document.createElement('button');
      add.textContent = 'Add to cart';
      add.dataset.add = p.sku;
      add.onclick = () => {
        cart.push(p);
        $('cart').textContent =
          `${cart.length} item(s), ${cart.reduce((t, x) => t + x.price, 0).toFixed(2)} €`;
        void send('add_to_cart', { sku: p.sku, quantity: 1, price: p.price });
      };
      card.append(view, add);
      $('products').append(card);
    }
    $('checkout').onclick = () => {
      if (cart.length === 0) return;
      const total = cart.reduce((t, x) => t + x.price, 0);
      void send('checkout', { orderId: `order-${Date.now()}`, total, items: cart.length });
      cart.length = 0;
      $('cart').textContent = 'cart is empty';
    };
  }

  $('visitor').textContent = intake.visitorId();
  render();
  void send('page_view', { path: location.pathname, title: document.title });
  setInterval(() => void refreshScore(), 2000);
})();
