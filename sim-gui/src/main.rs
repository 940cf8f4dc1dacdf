//! `fleetsim-gui`: the dashboard in a window (eframe, OpenGL).
//!
//! ```text
//! fleetsim-gui [SCENARIO | --scenario PATH] [--set path=value]... [--seed N]
//!              [--run] [--screenshot OUT.png] [--size WxH] [--tab NAME] [--select NODE]
//! ```
//!
//! `--screenshot` runs the scenario, waits until the report is drawn, saves
//! the window's own frame as a PNG and exits (needs a display; under
//! `xvfb-run` on a headless machine).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use sim_gui::App;

/// The command line.
#[derive(Debug, Default)]
struct Args {
    scenario: Option<PathBuf>,
    set: Vec<String>,
    seed: Option<u64>,
    run: bool,
    screenshot: Option<PathBuf>,
    size: Option<[f32; 2]>,
    tab: Option<String>,
    select: Option<String>,
}

const USAGE: &str = "usage: fleetsim-gui [SCENARIO | --scenario PATH] [--set path=value]... \
                     [--seed N] [--run] [--screenshot OUT.png] [--size WxH] \
                     [--tab results|incidents|topology|why|text] [--select NODE]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--scenario" => args.scenario = Some(PathBuf::from(value("--scenario")?)),
            "--set" => args.set.push(value("--set")?),
            "--seed" => {
                let v = value("--seed")?;
                args.seed = Some(v.parse().map_err(|_| format!("--seed {v}: not a number"))?);
            }
            "--run" => args.run = true,
            "--tab" => args.tab = Some(value("--tab")?),
            "--select" => args.select = Some(value("--select")?),
            "--screenshot" => args.screenshot = Some(PathBuf::from(value("--screenshot")?)),
            "--size" => {
                let v = value("--size")?;
                let (w, h) = v
                    .split_once('x')
                    .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                    .ok_or(format!("--size {v}: expected WxH, e.g. 1600x1000"))?;
                args.size = Some([w, h]);
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            s if s.starts_with('-') => return Err(format!("unknown option `{s}`\n{USAGE}")),
            s => args.scenario = Some(PathBuf::from(s)),
        }
    }
    Ok(args)
}

/// Screenshot states.
const WAITING: u8 = 0;
const SAVED: u8 = 1;
const FAILED: u8 = 2;

/// The eframe application: the dashboard plus the `--screenshot` driver.
struct Window {
    app: App,
    screenshot: Option<PathBuf>,
    /// Frames drawn since the report arrived (plots settle in a few).
    frames_with_report: u32,
    requested: bool,
    shot_state: Arc<AtomicU8>,
}

impl eframe::App for Window {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.app.show(ui);
        let Some(path) = &self.screenshot else {
            return;
        };
        let ctx = ui.ctx().clone();
        if let Some(e) = self.app.error() {
            eprintln!("{e}");
            self.shot_state.store(FAILED, Ordering::SeqCst);
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        if self.app.report().is_some() && !self.app.is_running() {
            self.frames_with_report += 1;
        }
        if self.frames_with_report >= 10 && !self.requested {
            self.requested = true;
            let (path, state, close) = (path.clone(), Arc::clone(&self.shot_state), ctx.clone());
            ctx.request_screenshot(move |img: Arc<egui::ColorImage>| {
                let bytes: Vec<u8> = img.pixels.iter().flat_map(|c| c.to_array()).collect();
                let [w, h] = img.size;
                match image::save_buffer(&path, &bytes, w as u32, h as u32, image::ColorType::Rgba8)
                {
                    Ok(()) => {
                        eprintln!("screenshot written to {} ({w}x{h})", path.display());
                        state.store(SAVED, Ordering::SeqCst);
                    }
                    Err(e) => {
                        eprintln!("cannot write {}: {e}", path.display());
                        state.store(FAILED, Ordering::SeqCst);
                    }
                }
                close.send_viewport_cmd(egui::ViewportCommand::Close);
            });
        }
        ctx.request_repaint();
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut app = App::new();
    if let Some(p) = &args.scenario {
        app.open(p);
    }
    if !args.set.is_empty() {
        app.add_overrides(&args.set);
    }
    if let Some(s) = args.seed {
        app.set_seed(s);
    }
    if let Some(Err(e)) = args.tab.as_deref().map(|t| app.select_tab(t)) {
        eprintln!("{e}");
        return ExitCode::from(2);
    }
    if let Some(n) = &args.select {
        app.select_node(n);
    }
    app.auto_run = args.run || args.screenshot.is_some();
    let shot_state = Arc::new(AtomicU8::new(WAITING));
    let window = Window {
        app,
        screenshot: args.screenshot.clone(),
        frames_with_report: 0,
        requested: false,
        shot_state: Arc::clone(&shot_state),
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_inner_size(args.size.unwrap_or([1500.0, 950.0]))
            .with_title("fleetsim"),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    if let Err(e) = eframe::run_native("fleetsim", options, Box::new(|_cc| Ok(Box::new(window)))) {
        eprintln!("fleetsim-gui: {e}");
        return ExitCode::FAILURE;
    }
    match (args.screenshot.is_some(), shot_state.load(Ordering::SeqCst)) {
        (true, SAVED) | (false, _) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}
