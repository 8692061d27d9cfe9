/* The field app's own words, Vietnamese first; values from data never come from here. */
(function (global) {
  "use strict";
  const WORDS = {
    vi: {
      title: "Thu thập hiện trường", lang: "EN", online: "Có mạng", offline: "Không có mạng",
      signin: "Đăng nhập", username: "Tên đăng nhập", password: "Mật khẩu",
      signin_note: "Lần đầu trên máy này cần có mạng. Sau đó mở khóa được cả khi không có sóng.",
      wrong_password: "Sai tên đăng nhập hoặc mật khẩu.",
      first_needs_network: "Máy này chưa có hồ sơ của bạn: cần có mạng để đăng nhập lần đầu.",
      not_allowed: "Tài khoản này không được ghi nhận hiện trường (cần quyền cán bộ phân tích hoặc chỉ huy).",
      change_password_first: "Mật khẩu đang là mật khẩu tạm: hãy đổi mật khẩu trên web trước.",
      old_password: "Hàng chờ trên máy được khóa bằng mật khẩu cũ. Nhập mật khẩu cũ để mở:",
      waiting_on_phone: "Bản ghi chưa gửi trên máy", signout: "Đăng xuất",
      new_record: "Ghi nhận mới", edit_existing: "Sửa bản ghi có sẵn", patrol: "Tuần tra",
      queue: "Hàng chờ gửi", send_now: "Gửi ngay", refresh: "Tải dữ liệu mới",
      pending: "chờ gửi", applied: "đã lưu", merged: "đã gộp", conflict: "xung đột, chờ xử lý",
      duplicate: "đã lưu (gửi lại)", rejected: "bị từ chối", back: "Quay lại", save: "Lưu vào hàng chờ",
      gps: "Lấy vị trí GPS", tap_map: "Hoặc chạm vào bản đồ để đặt vị trí.",
      accuracy: "sai số", no_position: "Chưa có vị trí", manual: "đặt tay trên bản đồ",
      walk: "Đi quanh ranh giới", tap_corners: "Chạm các góc", stop_walk: "Dừng đi",
      undo_corner: "Bỏ góc cuối", corners: "góc", area: "diện tích",
      photo: "Ảnh", take_photo: "Chụp / chọn ảnh", photo_ready: "Ảnh đã thu nhỏ",
      required: "bắt buộc", missing_required: "Còn thiếu", need_position: "Cần vị trí trước khi lưu.",
      need_polygon: "Cần ít nhất 3 góc của nương.", saved: "Đã lưu vào hàng chờ.",
      start_patrol: "Bắt đầu tuần tra", stop_done: "Đánh dấu điểm dừng", end_patrol: "Kết thúc, lưu tuyến",
      findings: "Kết quả, phát hiện", stop_note: "Ghi chú điểm dừng", stops: "điểm dừng",
      distance: "quãng đường", track_points: "điểm GPS", no_track_layer:
        "Máy chủ chưa có lớp tuyến tuần tra; tuyến vẫn được giữ trong hàng chờ.",
      search: "Tìm theo tên, địa chỉ", no_records: "Chưa có bản ghi (tải dữ liệu khi có mạng).",
      sent_summary: "Kết quả gửi", snapshot_at: "Dữ liệu tải lúc", never: "chưa tải",
      sync_failed: "Chưa gửi được, sẽ thử lại.", session_expired:
        "Phiên đăng nhập trên máy chủ đã hết: đăng nhập lại để gửi.",
      problems: "Lý do", kept: "vẫn giữ trên máy", yes: "Có", no: "Không",
      north: "B", east: "Đ", changed: "sửa",
      unlock: "Mở khóa", locked_out: "Đã khóa. Bản ghi chưa gửi vẫn được giữ.",
      fix_resend: "Sửa và gửi lại", discard: "Bỏ", replaced: "đã thay bằng bản sửa",
      discarded: "đã bỏ (không gửi)", fixed: "bản sửa của thao tác bị từ chối",
      confirm_discard: "Bỏ thao tác này? Nó sẽ không được gửi lên máy chủ (vẫn ghi trong lịch sử trên máy).",
      nothing_changed: "Không có gì thay đổi để gửi.", delete: "Xoá bản ghi",
      confirm_delete: "Xoá bản ghi này? Lệnh xoá sẽ được gửi khi có mạng; nếu bản ghi đã bị sửa trên máy chủ, sẽ thành xung đột chờ xử lý.",
      deleting: "xoá",
    },
    en: {
      title: "Field capture", lang: "VI", online: "Online", offline: "Offline",
      signin: "Sign in", username: "Username", password: "Password",
      signin_note: "The first sign-in on this phone needs the network; afterwards it unlocks with no signal.",
      wrong_password: "Wrong username or password.",
      first_needs_network: "This phone has no profile for you yet: sign in once with the network.",
      not_allowed: "This account may not record in the field (analyst or commander needed).",
      change_password_first: "Your password is temporary: change it on the web first.",
      old_password: "The queue on this phone is locked with your old password. Enter it to open:",
      waiting_on_phone: "Unsent edits on this phone", signout: "Sign out",
      new_record: "New record", edit_existing: "Edit a record", patrol: "Patrol",
      queue: "Send queue", send_now: "Send now", refresh: "Download fresh data",
      pending: "waiting", applied: "saved", merged: "merged", conflict: "conflict, for review",
      duplicate: "saved (re-sent)", rejected: "rejected", back: "Back", save: "Save to queue",
      gps: "Use GPS position", tap_map: "Or tap the map to place it.",
      accuracy: "accuracy", no_position: "No position yet", manual: "placed on the map",
      walk: "Walk the boundary", tap_corners: "Tap the corners", stop_walk: "Stop walking",
      undo_corner: "Remove last corner", corners: "corners", area: "area",
      photo: "Photo", take_photo: "Take / choose a photo", photo_ready: "Photo resized",
      required: "required", missing_required: "Missing", need_position: "A position is needed first.",
      need_polygon: "A plot needs at least 3 corners.", saved: "Saved to the queue.",
      start_patrol: "Start patrol", stop_done: "Mark a stop done", end_patrol: "End and save the track",
      findings: "Findings", stop_note: "Stop note", stops: "stops",
      distance: "distance", track_points: "GPS points", no_track_layer:
        "The server has no patrol-track layer yet; the track stays in the queue.",
      search: "Search name, address", no_records: "No records (download them when online).",
      sent_summary: "Sync results", snapshot_at: "Data downloaded", never: "never",
      sync_failed: "Not sent yet; will retry.", session_expired:
        "The server session has ended: sign in again to send.",
      problems: "Reasons", kept: "kept on the phone", yes: "Yes", no: "No",
      north: "N", east: "E", changed: "changed",
      unlock: "Unlock", locked_out: "Locked. Unsent edits are kept.",
      fix_resend: "Fix and send again", discard: "Discard", replaced: "replaced by a fixed edit",
      discarded: "discarded (not sent)", fixed: "fix of a rejected edit",
      confirm_discard: "Discard this edit? It will not be sent to the server (it stays in the history on this phone).",
      nothing_changed: "Nothing changed to send.", delete: "Delete the record",
      confirm_delete: "Delete this record? The deletion is sent when online; if the record was changed on the server meanwhile, it becomes a conflict for review.",
      deleting: "delete",
    },
  };
  let lang = (global.localStorage && localStorage.getItem("gp-field-lang")) || "vi";
  const I18n = {
    get lang() { return lang; },
    set(l) { lang = l === "en" ? "en" : "vi"; localStorage.setItem("gp-field-lang", lang); },
    t(key) { return (WORDS[lang] && WORDS[lang][key]) || WORDS.vi[key] || key; },
    /** A number as an officer reads it: decimal comma in Vietnamese. */
    num(x, digits) {
      if (x === null || x === undefined || isNaN(x)) return "–";
      return Number(x).toLocaleString(lang === "en" ? "en-GB" : "vi-VN",
                                      { maximumFractionDigits: digits || 0 });
    },
  };
  global.I18n = I18n;
})(self);
