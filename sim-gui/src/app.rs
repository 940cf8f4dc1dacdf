//! The dashboard's state and its one entry point, [`App::show`], which
//! draws everything into a [`egui::Ui`] — so tests drive it without a
//! window, and `main.rs` only hands it eframe's root `Ui`.
//!
//! Layout: a top bar (scenario, seed, Run/Cancel, progress), a left panel
//! (the parameter form, Save as), and tabs in the middle (results and
//! plots, incidents, topology, the autoscaling "why" log, the scenario
//! text).

use std::path::{Path, PathBuf};

use egui::{Color32, RichText, ScrollArea, Ui};
use sim_models::fleet::spof::StaticSpofReport;
use sim_models::{FleetReport, FleetScenario, Override};

use crate::runner::{RunEvent, Runner};
use crate::scenario_form::{self, FieldKind, Form};
use crate::topology::{self, Node};
use crate::{plots, tables};

const ERROR: Color32 = Color32::from_rgb(220, 50, 47);

/// The tabs of the central area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// Summary, regions and the time-series plots.
    Results,
    /// The incidents table.
    Incidents,
    /// The topology graph with SPOFs.
    Topology,
    /// The autoscaling decision log.
    Why,
    /// The scenario text, editable.
    Text,
}

impl Tab {
    const ALL: [Tab; 5] = [
        Tab::Results,
        Tab::Incidents,
        Tab::Topology,
        Tab::Why,
        Tab::Text,
    ];

    fn title(self) -> &'static str {
        match self {
            Tab::Results => "Results",
            Tab::Incidents => "Incidents",
            Tab::Topology => "Topology",
            Tab::Why => "Why (autoscaling)",
            Tab::Text => "Scenario text",
        }
    }
}

/// The open scenario file.
#[derive(Debug)]
struct Source {
    path: PathBuf,
    /// The text, as edited in the Scenario text tab.
    text: String,
}

/// A scenario that loaded and validated.
#[derive(Debug)]
struct Loaded {
    scenario: FleetScenario,
    spof: StaticSpofReport,
    overrides: Vec<Override>,
}

/// A finished run.
#[derive(Debug)]
struct Finished {
    report: Box<FleetReport>,
    wall_s: f64,
    /// The config it ran (for the topology view after later edits).
    scenario: FleetScenario,
    spof: StaticSpofReport,
}

/// The whole dashboard.
#[derive(Debug)]
pub struct App {
    bundled: Vec<PathBuf>,
    bundled_dir: Option<PathBuf>,
    path_input: String,
    source: Option<Source>,
    form: Form,
    loaded: Option<Loaded>,
    /// Why the scenario (or the form) does not load, shown inline.
    error: Option<String>,
    seed_input: String,
    runner: Option<Runner>,
    /// The last run's end when it was not a report (cancelled, failed).
    run_note: Option<String>,
    finished: Option<Finished>,
    tab: Tab,
    selected_node: Option<Node>,
    selected_decision: Option<usize>,
    save_path: String,
    save_note: Option<Result<String, String>>,
    /// Start a run as soon as the scenario loads (`--run`).
    pub auto_run: bool,
}

impl Default for App {
    fn default() -> Self {
        Self::new()
    }
}

impl App {
    /// A dashboard listing the bundled scenarios, with none open.
    pub fn new() -> App {
        let bundled_dir = scenario_form::bundled_dir();
        let bundled = (bundled_dir.as_deref())
            .map(scenario_form::bundled_scenarios)
            .unwrap_or_default();
        App {
            bundled,
            bundled_dir,
            path_input: String::new(),
            source: None,
            form: Form::default(),
            loaded: None,
            error: None,
            seed_input: String::new(),
            runner: None,
            run_note: None,
            finished: None,
            tab: Tab::Results,
            selected_node: None,
            selected_decision: None,
            save_path: String::new(),
            save_note: None,
            auto_run: false,
        }
    }

    /// Opens a scenario file: reads it, builds the form and loads it
    /// (errors are shown inline, not returned).
    pub fn open(&mut self, path: &Path) {
        self.path_input = path.display().to_string();
        self.loaded = None;
        match scenario_form::read_scenario(path) {
            Ok(text) => {
                self.form = Form::from_toml(&text);
                self.save_path = default_save_path(path);
                self.save_note = None;
                self.source = Some(Source {
                    path: path.to_path_buf(),
                    text,
                });
                self.seed_input.clear();
                self.selected_node = None;
                self.reload();
            }
            Err(e) => {
                self.source = None;
                self.form = Form::default();
                self.error = Some(e);
            }
        }
    }

    /// Adds `--set`-style overrides (one `path=value` per entry) and
    /// reloads.
    /// A line whose path is a form field sets that field; others go to the
    /// extra lines.
    pub fn add_overrides(&mut self, lines: &[String]) {
        for l in lines {
            let field = l.split_once('=').and_then(|(path, value)| {
                let f = (self.form.sections.iter_mut())
                    .flat_map(|(_, fields)| fields)
                    .find(|f| f.path == path.trim())?;
                Some((f, value.trim()))
            });
            if let Some((f, value)) = field {
                f.value = value.to_string();
                continue;
            }
            if !self.form.extra.is_empty() && !self.form.extra.ends_with('\n') {
                self.form.extra.push('\n');
            }
            self.form.extra.push_str(l);
        }
        self.reload();
    }

    /// Shows the tab named `name` (`results`, `incidents`, `topology`,
    /// `why`, `text`).
    pub fn select_tab(&mut self, name: &str) -> Result<(), String> {
        self.tab = match name {
            "results" => Tab::Results,
            "incidents" => Tab::Incidents,
            "topology" => Tab::Topology,
            "why" => Tab::Why,
            "text" => Tab::Text,
            _ => {
                return Err(format!(
                    "no tab `{name}`: results, incidents, topology, why or text"
                ));
            }
        };
        Ok(())
    }

    /// Selects a topology node by its label, for `--select`; unknown
    /// labels select nothing.
    pub fn select_node(&mut self, label: &str) {
        let config = match (&self.finished, &self.loaded) {
            (Some(f), _) => &f.scenario.config,
            (None, Some(l)) => &l.scenario.config,
            (None, None) => return,
        };
        self.selected_node = topology::nodes(config)
            .into_iter()
            .find(|n| n.label(config) == label);
    }

    /// Sets the seed box.
    pub fn set_seed(&mut self, seed: u64) {
        self.seed_input = seed.to_string();
    }

    /// Loads the current text with the form's overrides through the facade.
    fn reload(&mut self) {
        let Some(src) = &self.source else {
            return;
        };
        let result = self
            .form
            .overrides()
            .and_then(|ovs| scenario_form::load(&src.path, &src.text, &ovs).map(|s| (s, ovs)));
        match result {
            Ok((scenario, overrides)) => {
                if self.seed_input.trim().is_empty() {
                    self.seed_input = scenario.default_seed().to_string();
                }
                let spof = sim_models::static_spof(&scenario);
                self.loaded = Some(Loaded {
                    scenario,
                    spof,
                    overrides,
                });
                self.error = None;
            }
            Err(e) => {
                self.loaded = None;
                self.error = Some(e);
            }
        }
    }

    /// Whether a run is in progress.
    pub fn is_running(&self) -> bool {
        self.runner.is_some()
    }

    /// The last finished run's report.
    pub fn report(&self) -> Option<&FleetReport> {
        self.finished.as_ref().map(|f| f.report.as_ref())
    }

    /// The inline error, if the scenario or the form does not load.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Starts a run of the loaded scenario with the seed box's seed.
    fn start_run(&mut self, ctx: &egui::Context) {
        let Some(loaded) = &self.loaded else {
            return;
        };
        let seed = match self.seed_input.trim().parse::<u64>() {
            Ok(s) => s,
            Err(_) => {
                self.run_note = Some(format!(
                    "seed `{}` is not a whole number from 0 to {}",
                    self.seed_input.trim(),
                    u64::MAX
                ));
                return;
            }
        };
        let path = self
            .source
            .as_ref()
            .map_or(PathBuf::new(), |s| s.path.clone());
        let mut reproduce = format!("fleetsim run {} --seed {seed}", path.display());
        for o in &loaded.overrides {
            reproduce.push_str(&format!(" --set '{o}'"));
        }
        self.run_note = None;
        self.runner = Some(Runner::start(
            loaded.scenario.clone(),
            seed,
            reproduce,
            ctx.clone(),
        ));
    }

    fn poll_runner(&mut self) {
        let Some(runner) = &mut self.runner else {
            return;
        };
        let Some(end) = runner.poll() else {
            return;
        };
        match end {
            RunEvent::Done(report, wall_s) => {
                if let Some(loaded) = &self.loaded {
                    self.finished = Some(Finished {
                        report,
                        wall_s,
                        scenario: loaded.scenario.clone(),
                        spof: loaded.spof.clone(),
                    });
                    self.selected_decision = None;
                }
            }
            RunEvent::Cancelled => self.run_note = Some("run cancelled".to_string()),
            RunEvent::Failed(msg) => self.run_note = Some(format!("run failed: {msg}")),
            RunEvent::Progress(_) => {}
        }
        self.runner = None;
    }

    /// Draws the whole dashboard into `ui` (eframe's root `Ui`, or a test
    /// harness's).
    pub fn show(&mut self, ui: &mut Ui) {
        self.poll_runner();
        if self.auto_run && self.loaded.is_some() && self.runner.is_none() {
            self.auto_run = false;
            self.start_run(&ui.ctx().clone());
        }
        egui::Panel::top("fleetsim-top").show(ui, |ui| self.top_bar(ui));
        egui::Panel::left("fleetsim-form")
            .resizable(true)
            .default_size(330.0)
            .show(ui, |ui| self.form_panel(ui));
        egui::CentralPanel::default().show(ui, |ui| self.central(ui));
        if self.runner.is_some() {
            // The thread wakes the UI on progress; this is a safety net.
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(200));
        }
    }

    fn top_bar(&mut self, ui: &mut Ui) {
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            ui.heading("fleetsim");
            ui.separator();
            let current = self
                .source
                .as_ref()
                .map(|s| short_name(&s.path, self.bundled_dir.as_deref()))
                .unwrap_or_else(|| "choose a bundled scenario".to_string());
            let mut pick = None;
            egui::ComboBox::from_label("Bundled scenario")
                .selected_text(current)
                .width(260.0)
                .show_ui(ui, |ui| {
                    for p in &self.bundled {
                        let name = short_name(p, self.bundled_dir.as_deref());
                        let selected = self.source.as_ref().is_some_and(|s| &s.path == p);
                        if ui.selectable_label(selected, name).clicked() {
                            pick = Some(p.clone());
                        }
                    }
                });
            if let Some(p) = pick {
                self.open(&p);
            }
            ui.separator();
            let label = ui.label("Path");
            let edit = ui
                .add(
                    egui::TextEdit::singleline(&mut self.path_input)
                        .desired_width(240.0)
                        .hint_text("scenario.toml"),
                )
                .labelled_by(label.id);
            let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Open").clicked() || enter {
                let p = PathBuf::from(self.path_input.trim());
                self.open(&p);
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("Seed");
            ui.add(egui::TextEdit::singleline(&mut self.seed_input).desired_width(90.0))
                .labelled_by(label.id);
            let can_run = self.loaded.is_some() && self.runner.is_none();
            if ui.add_enabled(can_run, egui::Button::new("Run")).clicked() {
                self.start_run(&ui.ctx().clone());
            }
            if let Some(r) = &self.runner {
                if ui
                    .add_enabled(!r.cancelling(), egui::Button::new("Cancel"))
                    .clicked()
                {
                    r.cancel();
                }
                let (fraction, sim_s) = r
                    .progress
                    .map_or((0.0, 0.0), |p| (p.fraction, p.sim_time_s));
                ui.add(
                    egui::ProgressBar::new(fraction as f32)
                        .desired_width(260.0)
                        .show_percentage()
                        .text(format!(
                            "seed {} · {:.0} % · simulated {sim_s:.0} s · {:.1} s wall",
                            r.seed,
                            fraction * 100.0,
                            r.elapsed_s()
                        )),
                );
            } else if let Some(f) = &self.finished {
                ui.label(format!(
                    "done: {} seed {} in {:.2} s wall ({:.1} M events/s)",
                    f.report.scenario,
                    f.report.seed,
                    f.wall_s,
                    f.report.events as f64 / f.wall_s.max(1e-9) / 1e6
                ));
            }
            if let Some(note) = &self.run_note {
                ui.colored_label(ERROR, note);
            }
        });
        ui.add_space(2.0);
    }

    fn form_panel(&mut self, ui: &mut Ui) {
        ScrollArea::vertical().show(ui, |ui| {
            ui.heading("Parameters");
            if let Some(e) = &self.error {
                ui.colored_label(ERROR, RichText::new(e).monospace());
            }
            if self.source.is_none() {
                ui.label("Open a scenario to edit its parameters.");
                return;
            }
            if let Some(l) = &self.loaded {
                ui.label(
                    RichText::new(format!(
                        "{} · hash {}",
                        l.scenario.config.name, l.scenario.hash
                    ))
                    .small(),
                );
            }
            ui.label(RichText::new("Edited fields become `--set path=value` overrides.").small());
            let mut changed = false;
            for (section, fields) in &mut self.form.sections {
                egui::CollapsingHeader::new(section.as_str())
                    .default_open(true)
                    .show(ui, |ui| {
                        egui::Grid::new(("form", section.as_str()))
                            .num_columns(2)
                            .show(ui, |ui| {
                                for f in fields.iter_mut() {
                                    let label = if f.is_edited() {
                                        RichText::new(&f.label).strong()
                                    } else {
                                        RichText::new(&f.label)
                                    };
                                    let label = ui.label(label).on_hover_text(&f.path);
                                    match f.kind {
                                        FieldKind::Text => {
                                            let r = ui
                                                .add(
                                                    egui::TextEdit::singleline(&mut f.value)
                                                        .desired_width(120.0),
                                                )
                                                .labelled_by(label.id);
                                            changed |= r.lost_focus();
                                        }
                                        FieldKind::Choice(options) => {
                                            let combo =
                                                egui::ComboBox::from_id_salt(("choice", &f.path))
                                                    .selected_text(f.value.as_str())
                                                    .show_ui(ui, |ui| {
                                                        for o in options {
                                                            changed |= ui
                                                                .selectable_value(
                                                                    &mut f.value,
                                                                    (*o).to_string(),
                                                                    *o,
                                                                )
                                                                .changed();
                                                        }
                                                    });
                                            let _ = combo.response.labelled_by(label.id);
                                        }
                                    }
                                    ui.end_row();
                                }
                            });
                    });
            }
            let label = ui.label("More overrides (one `path=value` a line)");
            let r = ui
                .add(
                    egui::TextEdit::multiline(&mut self.form.extra)
                        .desired_rows(2)
                        .hint_text("run.slo.target=0.99")
                        .code_editor(),
                )
                .labelled_by(label.id);
            changed |= r.lost_focus();
            ui.horizontal(|ui| {
                if ui.button("Apply").clicked() {
                    changed = true;
                }
                if ui.button("Reset").clicked() {
                    self.form.reset();
                    changed = true;
                }
            });
            if changed {
                self.reload();
            }
            ui.separator();
            let save_label = ui.strong("Save as TOML");
            ui.label(
                RichText::new(
                    "Writes the scenario text with the overrides applied (without overrides, \
                     the text as is, comments kept).",
                )
                .small(),
            );
            ui.add(egui::TextEdit::singleline(&mut self.save_path).desired_width(f32::INFINITY))
                .labelled_by(save_label.id);
            if ui.button("Save").clicked() {
                self.save_note = Some(self.save());
            }
            match &self.save_note {
                Some(Ok(m)) => {
                    ui.label(m);
                }
                Some(Err(e)) => {
                    ui.colored_label(ERROR, e);
                }
                None => {}
            }
        });
    }

    /// Why the last run ended without a report (cancelled, failed, a bad
    /// seed), if it did.
    pub fn run_note(&self) -> Option<&str> {
        self.run_note.as_deref()
    }

    /// Sets the Save as path.
    pub fn set_save_path(&mut self, path: &Path) {
        self.save_path = path.display().to_string();
    }

    /// Writes the effective scenario to the save path, after checking that
    /// it loads to the same scenario (same hash); the message shown.
    pub fn save(&self) -> Result<String, String> {
        let src = self.source.as_ref().ok_or("no scenario is open")?;
        let loaded = self
            .loaded
            .as_ref()
            .ok_or("the scenario does not load; fix the error first")?;
        let text = scenario_form::effective_toml(&src.text, &loaded.overrides)?;
        let path = PathBuf::from(self.save_path.trim());
        if path.as_os_str().is_empty() {
            return Err("give a file name".to_string());
        }
        let check = scenario_form::load(&path, &text, &[])?;
        if check.hash != loaded.scenario.hash {
            return Err(format!(
                "the written TOML would load differently (hash {} instead of {}); not saved",
                check.hash, loaded.scenario.hash
            ));
        }
        std::fs::write(&path, &text)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
        Ok(format!("saved {} (hash {})", path.display(), check.hash))
    }

    fn central(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            for t in Tab::ALL {
                ui.selectable_value(&mut self.tab, t, t.title());
            }
        });
        ui.separator();
        match self.tab {
            Tab::Text => self.text_tab(ui),
            Tab::Topology => self.topology_tab(ui),
            tab => {
                let Some(f) = &self.finished else {
                    ui.label(if self.loaded.is_some() {
                        "Press Run to simulate the scenario."
                    } else {
                        "Open a scenario that loads, then press Run."
                    });
                    return;
                };
                let report = f.report.as_ref();
                match tab {
                    Tab::Results => {
                        ScrollArea::vertical()
                            .id_salt("results-scroll")
                            .show(ui, |ui| {
                                tables::summary(ui, report);
                                ui.add_space(6.0);
                                tables::regions(ui, report);
                                ui.add_space(6.0);
                                ui.heading("Time series");
                                let height = (ui.available_width() * 0.14).clamp(120.0, 220.0);
                                plots::show(ui, report, height);
                            });
                    }
                    Tab::Incidents => tables::incidents(ui, report),
                    Tab::Why => tables::decisions(ui, report, &mut self.selected_decision),
                    Tab::Text | Tab::Topology => {}
                }
            }
        }
    }

    fn text_tab(&mut self, ui: &mut Ui) {
        let Some(src) = &mut self.source else {
            ui.label("No scenario is open.");
            return;
        };
        let path_label = ui.label(format!("{}", src.path.display()));
        let mut reload = false;
        ui.horizontal(|ui| {
            reload = ui.button("Apply text").clicked();
            ui.label(
                RichText::new(
                    "Edits here change the scenario text; the form's overrides apply on top.",
                )
                .small(),
            );
        });
        ScrollArea::vertical()
            .id_salt("text-scroll")
            .show(ui, |ui| {
                ui.add(
                    egui::TextEdit::multiline(&mut src.text)
                        .code_editor()
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(path_label.id);
            });
        if reload {
            let text = src.text.clone();
            let keep_extra = std::mem::take(&mut self.form.extra);
            self.form = Form::from_toml(&text);
            self.form.extra = keep_extra;
            self.reload();
        }
    }

    fn topology_tab(&mut self, ui: &mut Ui) {
        // After a run, the topology of what ran (its figures match);
        // before, the loaded scenario's.
        let (config, spof, report) = match (&self.finished, &self.loaded) {
            (Some(f), _) => (&f.scenario.config, &f.spof, Some(f.report.as_ref())),
            (None, Some(l)) => (&l.scenario.config, &l.spof, None),
            (None, None) => {
                ui.label("Open a scenario that loads to see its topology.");
                return;
            }
        };
        if let Some(node) = &self.selected_node {
            egui::Panel::right("topology-details")
                .resizable(true)
                .default_size(320.0)
                .show(ui, |ui| {
                    ScrollArea::vertical().show(ui, |ui| {
                        topology::details(ui, config, spof, report, node);
                    });
                });
        }
        ui.label("Click a component for its figures.");
        ScrollArea::both()
            .id_salt("topology-scroll")
            .show(ui, |ui| {
                topology::show(ui, config, spof, &mut self.selected_node);
            });
    }
}

/// The path shown for a bundled scenario: relative to the bundle.
fn short_name(path: &Path, dir: Option<&Path>) -> String {
    dir.and_then(|d| path.strip_prefix(d).ok())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// `name.edited.toml` in the current directory.
fn default_save_path(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map_or("scenario".into(), |s| s.to_string_lossy());
    format!("{stem}.edited.toml")
}
