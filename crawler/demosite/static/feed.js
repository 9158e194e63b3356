// Feed of the demo social group: fetches /api/posts?page=N and renders posts client-side,
// like a real social network, so only a crawler that runs JavaScript sees any post.
(function () {
  "use strict";

  var VN_OFFSET_MS = 7 * 3600 * 1000;
  var feed = document.getElementById("feed");
  var status = document.getElementById("feed-status");
  var button = document.querySelector("button.load-more");
  var api = feed.getAttribute("data-api") || "/api/posts";
  var nextPage = 1;
  var loading = false;
  var done = false;

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  // Wall-clock fields in Vietnam time whatever the browser's own time zone is.
  function vnParts(ms) {
    var d = new Date(ms + VN_OFFSET_MS);
    return {
      year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(),
      hh: pad(d.getUTCHours()), mm: pad(d.getUTCMinutes()),
      dayNumber: Math.floor((ms + VN_OFFSET_MS) / 86400000)
    };
  }

  // "Vừa xong", "5 phút trước", "2 giờ trước", "hôm qua lúc 20:15", "3 ngày",
  // "27 tháng 11 lúc 20:15" (with the year when it is not this year).
  function relativeTime(iso, nowMs) {
    var ms = Date.parse(iso);
    var diff = Math.max(0, nowMs - ms);
    var minutes = Math.floor(diff / 60000);
    var hours = Math.floor(diff / 3600000);
    var then = vnParts(ms);
    var now = vnParts(nowMs);
    var days = now.dayNumber - then.dayNumber;
    if (minutes < 1) return "Vừa xong";
    if (minutes < 60) return minutes + " phút trước";
    if (hours < 24) return hours + " giờ trước";
    if (days <= 1) return "hôm qua lúc " + then.hh + ":" + then.mm;
    if (days < 7) return days + " ngày";
    var label = then.day + " tháng " + then.month;
    if (then.year !== now.year) label += ", " + then.year;
    return label + " lúc " + then.hh + ":" + then.mm;
  }

  function span(cls, text) {
    var el = document.createElement("span");
    el.className = cls;
    el.textContent = String(text);
    return el;
  }

  function renderPost(post, nowMs) {
    var article = document.createElement("article");
    article.className = "post";
    article.setAttribute("data-id", post.id);

    var header = document.createElement("header");
    header.className = "post-header";
    header.appendChild(span("author", post.author));
    var link = document.createElement("a");
    link.className = "permalink";
    link.href = "/posts/" + encodeURIComponent(post.id);
    var time = document.createElement("time");
    time.setAttribute("datetime", post.posted);
    time.textContent = relativeTime(post.posted, nowMs);
    link.appendChild(time);
    header.appendChild(link);
    article.appendChild(header);

    var text = document.createElement("div");
    text.className = "text";
    text.textContent = post.text;
    article.appendChild(text);

    var stats = document.createElement("footer");
    stats.className = "post-stats";
    stats.appendChild(span("likes", post.likes));
    stats.appendChild(document.createTextNode(" lượt thích · "));
    stats.appendChild(span("comments", post.comments));
    stats.appendChild(document.createTextNode(" bình luận · "));
    stats.appendChild(span("shares", post.shares));
    stats.appendChild(document.createTextNode(" lượt chia sẻ"));
    article.appendChild(stats);
    return article;
  }

  function setStatus(text) {
    status.textContent = text;
    status.hidden = !text;
  }

  function finish() {
    done = true;
    button.hidden = true;
    setStatus("Đã hiển thị tất cả bài viết.");
  }

  function loadMore() {
    if (loading || done) return;
    loading = true;
    setStatus("Đang tải...");
    fetch(api + "?page=" + nextPage, { headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        var nowMs = Date.now();
        data.posts.forEach(function (post) {
          feed.appendChild(renderPost(post, nowMs));
        });
        loading = false;
        if (data.next_page) {
          nextPage = data.next_page;
          button.hidden = false;
          setStatus("");
          if (nearBottom()) loadMore();
        } else {
          finish();
        }
      })
      .catch(function (error) {
        loading = false;
        setStatus("Không tải được bài viết (" + error.message + "). Thử lại sau.");
      });
  }

  function nearBottom() {
    var root = document.documentElement;
    return window.innerHeight + window.scrollY >= root.scrollHeight - 200;
  }

  button.addEventListener("click", loadMore);
  window.addEventListener("scroll", function () {
    if (nearBottom()) loadMore();
  }, { passive: true });
  loadMore();
})();
