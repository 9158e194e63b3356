// Feed of the demo social group: fetches /api/posts?page=N and renders posts client-side,
// like a real social network, so only a crawler that runs JavaScript sees any post.
// Needs reltime.js loaded first (window.vnRelativeTime).
(function () {
  "use strict";

  var relativeTime = window.vnRelativeTime;
  var feed = document.getElementById("feed");
  var status = document.getElementById("feed-status");
  var button = document.querySelector("button.load-more");
  var api = feed.getAttribute("data-api") || "/api/posts";
  var nextPage = 1;
  var loading = false;
  var done = false;

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
