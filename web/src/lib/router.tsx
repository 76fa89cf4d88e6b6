/** A minimal history router: a few routes do not need a library in the initial bundle. */
import { useEffect, useState, type MouseEvent, type ReactNode } from "react";

const listeners = new Set<() => void>();
export function navigate(to: string) {
  history.pushState(null, "", to);
  listeners.forEach((l) => l());
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    listeners.add(update);
    addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      removeEventListener("popstate", update);
    };
  }, []);
  return path;
}

export function Link({ to, children, className }: { to: string; children: ReactNode; className?: string }) {
  const onClick = (e: MouseEvent) => {
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    navigate(to);
    scrollTo(0, 0);
  };
  const active = typeof location !== "undefined" && (location.pathname === to || (to !== "/" && location.pathname.startsWith(to)));
  return (
    <a href={to} onClick={onClick} className={[className, active ? "active" : ""].filter(Boolean).join(" ")}>
      {children}
    </a>
  );
}
