// SVG files are bundled as strings (asset/source), to build LabIcons.
declare module '*.svg' {
  const svgContent: string;
  export default svgContent;
}
