// Vietnamese relative time as social networks print it, always in Vietnam time (UTC+7)
// whatever the browser's own time zone. Loaded before feed.js; also a CommonJS module so
// the tests can run it under node.
(function (root) {
  "use strict";

  var VN_OFFSET_MS = 7 * 3600 * 1000;

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function vnParts(ms) {
    var d = new Date(ms + VN_OFFSET_MS);
    return {
      year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(),
      hh: pad(d.getUTCHours()), mm: pad(d.getUTCMinutes()),
      dayNumber: Math.floor((ms + VN_OFFSET_MS) / 86400000)
    };
  }

  // "Vừa xong", "5 phút trước", "2 giờ trước", "hôm qua lúc 20:15", "3 ngày",
  // "27 tháng 11 lúc 20:15" (", 2025" after the month when it is not this year).
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

  if (typeof module !== "undefined" && module.exports) {
    module.exports = { relativeTime: relativeTime };
  } else {
    root.vnRelativeTime = relativeTime;
  }
})(this);
