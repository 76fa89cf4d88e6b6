import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { loadConfig } from "./config.ts";
import { Root } from "./App.tsx";
import "./styles.css";

const el = document.getElementById("root")!;
loadConfig().then(
  (cfg) => createRoot(el).render(<StrictMode><Root config={cfg} /></StrictMode>),
  (err: Error) => {
    el.innerHTML = "";
    const p = document.createElement("p");
    p.className = "fatal";
    p.textContent = `Tollgate cannot start: ${err.message}`;
    el.append(p);
  },
);
