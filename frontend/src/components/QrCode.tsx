import QRCode from "qrcode";
import { useEffect, useState } from "react";

/** A QR code of ``value`` as an image (rendered in the browser, nothing fetched). */
export function QrCode({ value, label }: { value: string; label: string }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void QRCode.toDataURL(value, { margin: 1, width: 240, errorCorrectionLevel: "M" }).then(
      (url) => {
        if (live) setSrc(url);
      },
    );
    return () => {
      live = false;
    };
  }, [value]);
  return src ? <img className="qr" src={src} alt={label} width={240} height={240} /> : null;
}
