const KiB = 1024;

export interface ExampleVersion {
  versionId: number;
  modelId: number;
  modelType: 'Checkpoint' | 'LORA';
  modelName: string;
  /** The version's name. */
  name: string;
  fileName: string;
  bytes: number;
}

// versionId, modelId, type, model name, version name, file name, bytes (deliberately not round)
// biome-ignore format: a table reads best one row a line
const ROWS: Array<[number, number, ExampleVersion['modelType'], string, string, string, number]> = [
  [348913, 133005, 'Checkpoint', 'Juggernaut XL', 'V9 + RDPhoto 2', 'juggernautXL_v9Rundiffusionphoto2.safetensors', 24576 * KiB + 4321],
  [135867, 120096, 'LORA', 'Hand Detail FLUX & XL', 'v5.5', 'hand 5.5.safetensors', 1664 * KiB + 77],
  [710025, 635128, 'LORA', 'Amateur style - slider (Pony)', 'v1.0', 'amateur_style_v1_pony.safetensors', 2304 * KiB + 13],
  [241813, 215341, 'LORA', 'Real Skin Slider', 'v1.0', 'RealSkin_xxXL_v1.safetensors', 1167 * KiB + 5],
  [402010, 359021, 'LORA', "Pony's Eyes+ [SDXL]", 'v2.0', 'PonyEyes_v2.safetensors', 2816 * KiB + 3],
  [87153, 82098, 'LORA', 'Add More Details!', 'v1.0', 'add_detail.safetensors', 1479 * KiB + 737],
  [512344, 459870, 'LORA', 'Café Noir #2', 'v2', 'cafe_noir_2.safetensors', 1792 * KiB + 19],
  [623890, 558102, 'LORA', '水彩画 Watercolor @ Style', 'v1.0', 'watercolor_style_xl.safetensors', 2944 * KiB + 7],
  [301122, 270433, 'LORA', 'Детализация (Detail)', 'v1.0', 'detalizatsiya_v1.safetensors', 1024 * KiB + 1001],
  [455217, 404876, 'LORA', 'Ghibli 風 v2.0', 'v2.0', 'ghibli_style_v2.safetensors', 2560 * KiB + 29],
];

/**
 * The Civitai versions of test/fixtures/old-module-example-request.json: a checkpoint large
 * enough to be fetched in segments, and nine LoRAs of 1-3 MiB.
 */
export const EXAMPLE_CIVITAI_VERSIONS: ExampleVersion[] = ROWS.map(
  ([versionId, modelId, modelType, modelName, name, fileName, bytes]) => ({
    versionId,
    modelId,
    modelType,
    modelName,
    name,
    fileName,
    bytes,
  }),
);
