//! SVG drawn by sluice itself: layout-rs lays the graph out in layers (Sugiyama, as Graphviz's `dot`) and
//! writes the SVG, so no Graphviz binary is needed.
//!
//! layout-rs has no clusters, so an in-app stream or pump names its application on a last line and is filled
//! in the application's colour instead of being boxed with it.

use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
use layout::topo::layout::VisualGraph;

use super::model::{Graph, Shape};

/// One font size only: layout-rs writes one CSS class per size from a hash map, in no fixed order.
const FONT_SIZE: usize = 14;

fn look(shape: Shape) -> StyleAttr {
    let (fill, rounded) = match shape {
        Shape::Producer => ("#fff4d6", 0),
        Shape::Stream => ("#dcebff", 10),
        Shape::Application => ("#e8f5e9", 0),
        Shape::InAppStream => ("#e8f5e9", 10),
        Shape::Pump => ("#c8e6c9", 0),
        Shape::Destination => ("#fde2e1", 0),
    };
    StyleAttr::new(Color::fast("#333333"), 1, Color::from_name(fill), rounded, FONT_SIZE)
}

/// The graph as an SVG document, laid out left to right; `Err` if the layout failed.
pub fn render(graph: &Graph) -> Result<String, String> {
    let orientation = Orientation::TopToBottom;
    let mut visual = VisualGraph::new(orientation);
    let handles: Vec<_> = graph
        .nodes
        .iter()
        .map(|node| {
            let mut lines = vec![node.title.clone()];
            lines.extend(node.details.iter().cloned());
            if let Some(group) = node.group.and_then(|g| graph.groups.get(g)) {
                lines.push(format!("[{}]", group.title));
            }
            let shape = ShapeKind::new_box(&lines.join("\n"));
            let size = get_shape_size(orientation, &shape, FONT_SIZE, false);
            visual.add_node(Element::create(shape, look(node.shape), orientation, size))
        })
        .collect();
    for edge in &graph.edges {
        let mut arrow = Arrow::simple(&edge.label);
        if edge.dashed {
            arrow.line_style = LineStyleKind::Dashed;
        }
        arrow.look.line_width = 1;
        arrow.look.font_size = FONT_SIZE;
        visual.add_edge(arrow, handles[edge.from], handles[edge.to]);
    }
    let mut svg = Bounded { svg: SVGWriter::new(), max: Point::new(0.0, 0.0) };
    // The layout is a third-party algorithm: a panic in it becomes an error, not a crash.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| visual.do_it(false, false, false, &mut svg)))
        .map_err(|_| "the layout of the graph failed".to_owned())?;
    Ok(svg.finish())
}

/// Margin around the drawing, in pixels.
const MARGIN: f64 = 10.0;

/// An SVG writer that also tracks how far the drawing reaches: SVGWriter grows its canvas by a label's
/// length downwards, which leaves wide pictures with a tall empty band; [`Bounded::finish`] sets the size.
struct Bounded {
    svg: SVGWriter,
    max: Point,
}

impl Bounded {
    fn reach(&mut self, x: f64, y: f64) {
        self.max = Point::new(self.max.x.max(x), self.max.y.max(y));
    }

    /// The document with its size set to the drawing's extent.
    fn finish(self) -> String {
        let text = self.svg.finalize();
        let (width, height) = ((self.max.x + MARGIN).ceil(), (self.max.y + MARGIN).ceil());
        let size = format!(r#"width="{width}" height="{height}" viewBox="0 0 {width} {height}""#);
        let header = format!(r#"<svg {size} xmlns="http://www.w3.org/2000/svg">"#);
        match (text.find("<svg "), text.find("<defs>")) {
            (Some(start), Some(end)) if start < end => format!("{}{header}\n{}", &text[..start], &text[end..]),
            _ => text,
        }
    }
}

impl RenderBackend for Bounded {
    fn draw_rect(&mut self, xy: Point, size: Point, look: &StyleAttr, props: Option<String>, clip: Option<ClipHandle>) {
        self.reach(xy.x + size.x, xy.y + size.y);
        self.svg.draw_rect(xy, size, look, props, clip);
    }

    fn draw_line(&mut self, start: Point, stop: Point, look: &StyleAttr, props: Option<String>) {
        self.reach(start.x.max(stop.x), start.y.max(stop.y));
        self.svg.draw_line(start, stop, look, props);
    }

    fn draw_circle(&mut self, xy: Point, size: Point, look: &StyleAttr, props: Option<String>) {
        self.reach(xy.x + size.x / 2.0, xy.y + size.y / 2.0);
        self.svg.draw_circle(xy, size, look, props);
    }

    fn draw_text(&mut self, xy: Point, text: &str, look: &StyleAttr) {
        // Centred text: half its (estimated) width to the right, its lines below the middle.
        let font = look.font_size as f64;
        let longest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0) as f64;
        self.reach(xy.x + longest * font * 0.3, xy.y + text.lines().count() as f64 * font / 2.0);
        self.svg.draw_text(xy, text, look);
    }

    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        dashed: bool,
        head: (bool, bool),
        look: &StyleAttr,
        props: Option<String>,
        text: &str,
    ) {
        for (a, b) in path {
            self.reach(a.x.max(b.x), a.y.max(b.y));
        }
        self.svg.draw_arrow(path, dashed, head, look, props, text);
    }

    fn create_clip(&mut self, xy: Point, size: Point, rounded: usize) -> ClipHandle {
        self.svg.create_clip(xy, size, rounded)
    }
}
